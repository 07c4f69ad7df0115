"""Reading and validating responses and population files (FORMATS.md §2, §3).

Every check is vectorised; errors name the file, the row as a spreadsheet
shows it (the header is row 1) and the column.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import AnalysisError
from .spec import IndexSpec
from .totals import PsuTotals, totals_from_codes

__all__ = ["DataError", "ResponseColumns", "read_population", "read_responses",
           "responses_to_totals"]

REQUIRED = ("response_id", "survey", "agency")
MAX_ERRORS = 10


class DataError(AnalysisError):
    """Bad input; ``problems`` holds (file, row, column, message) tuples."""

    def __init__(self, problems: Sequence[tuple[str, int | None, str | None, str]]) -> None:
        self.problems = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(_format(*p) for p in self.problems)


def _format(file: str, row: int | None, column: str | None, message: str) -> str:
    where = ", ".join(x for x in (f"row {row}" if row else "", f"column {column}" if column
                                  else "") if x)
    return f"{file}: {where}: {message}" if where else f"{file}: {message}"


@dataclass(frozen=True)
class ResponseColumns:
    """Validated columns of a responses file, ready for :func:`totals_from_rows`."""

    codes: tuple[np.ndarray, ...]
    weight: np.ndarray
    stratum: pd.Series | None
    psu: pd.Series | None
    by: dict
    calibration: dict
    missing_criteria: tuple[str, ...]


def _header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError([(str(path), None, None, f"cannot read: {exc}")]) from exc


def _check_header(path, header, spec, by, calibration) -> list[str]:
    name = str(path)
    problems = [(name, 1, c, "required column is missing") for c in REQUIRED if c not in header]
    problems += [(name, 1, c, "unknown column") for c in [*by, *calibration] if c not in header]
    dup = sorted({c for c in header if header.count(c) > 1})
    problems += [(name, 1, c, "column appears twice") for c in dup]
    if problems:
        raise DataError(problems)
    return [k for k in spec.criteria if k not in header]


def _read(path: Path, columns: list[str], numeric: list[str]) -> pd.DataFrame:
    # Text columns keep pandas' inferred dtype (asking for str or object costs up to 0.6 s
    # per million rows); the rare column inferred as numbers is re-read as text below.
    dtypes = {c: "float64" for c in numeric}
    try:
        frame = pd.read_csv(path, usecols=columns, dtype=dtypes, encoding="utf-8-sig",
                            keep_default_na=False, na_values=[""])
        return _as_text(path, frame, [c for c in columns if c not in numeric])
    except ValueError:
        return _read_slow(path, columns, numeric)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError([(str(path), None, None, f"cannot parse: {exc}")]) from exc


def _as_text(path: Path, frame: pd.DataFrame, text: list[str]) -> pd.DataFrame:
    """Re-read as text the columns that pandas inferred as numbers (agency "007" stays "007")."""
    numeric = [c for c in text if not pd.api.types.is_string_dtype(frame[c])]
    if numeric:
        exact = pd.read_csv(path, usecols=numeric, dtype=str, encoding="utf-8-sig",
                            keep_default_na=False, na_values=[""])
        for c in numeric:
            frame[c] = exact[c]
    return frame


def _read_slow(path: Path, columns: list[str], numeric: list[str]) -> pd.DataFrame:
    """Re-read with numeric columns as text and report the cells that are not numbers."""
    frame = pd.read_csv(path, usecols=columns, dtype=str, encoding="utf-8-sig",
                        keep_default_na=False, na_values=[""])
    problems = []
    for c in numeric:
        text = frame[c].str.strip()
        values = pd.to_numeric(text, errors="coerce")
        for i in np.flatnonzero(text.notna().to_numpy() & values.isna().to_numpy())[:MAX_ERRORS]:
            problems.append((str(path), int(i) + 2, c, f"{frame[c].iloc[i]!r} is not a number"))
    if problems:
        raise DataError(sorted(problems, key=lambda p: (p[1], p[2]))[:MAX_ERRORS])
    return frame.astype({c: "float64" for c in numeric})


def _bad_rows(name: str, column: str, mask: np.ndarray, message: str) -> list:
    return [(name, int(i) + 2, column, message) for i in np.flatnonzero(mask)[:MAX_ERRORS]]


def _rating_codes(v: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Rating codes (0 = empty) as int8, and the mask of cells that are not ratings."""
    empty = np.isnan(v)
    filled = np.where(empty, 0.0, v)
    with np.errstate(invalid="ignore"):
        codes = filled.astype(np.int8)  # out-of-range values wrap and fail the next test
    bad = codes != filled
    bad |= (codes < 0) | (codes > points) | ((codes == 0) & ~empty)
    return codes, bad


def _validate(path, frame, spec, present, codes: dict) -> list:
    name = str(path)
    problems = []
    for c in present:
        codes[c], bad = _rating_codes(frame[c].to_numpy(), spec.points)
        problems += _bad_rows(name, c, bad, f"rating must be an integer 1..{spec.points}")
    if "weight" in frame:
        w = frame["weight"].to_numpy()
        problems += _bad_rows(name, "weight", np.isnan(w), "weight is empty")
        problems += _bad_rows(name, "weight", ~np.isnan(w) & ~(np.isfinite(w) & (w > 0)),
                              "weight must be a finite number > 0")
    for c in ("stratum", "psu"):
        if c in frame:
            problems += _bad_rows(name, c, frame[c].isna().to_numpy(), f"{c} is empty")
    if "survey" in frame:
        bad = (frame["survey"] != spec.code).to_numpy()
        problems += _bad_rows(name, "survey", bad, f"survey is not {spec.code!r}")
    return problems


def read_responses(path: str | Path, spec: IndexSpec, *, by: Sequence[str] = (),
                   calibration: Sequence[str] = ()) -> ResponseColumns:
    """Read and validate a responses CSV (FORMATS.md §2) for the indices.

    Only the columns the indices need are parsed: the criteria, ``survey``,
    the design columns and the ``by`` / calibration columns.

    Raises
    ------
    DataError
        Naming file, row and column of the first problems found.
    """
    path = Path(path)
    header = _header(path)
    missing = _check_header(path, header, spec, by, calibration)
    present = [k for k in spec.criteria if k in header]
    design = [c for c in ("survey", "stratum", "psu", "weight") if c in header]
    columns = list(dict.fromkeys([*present, *design, *by, *calibration]))
    numeric = [*present, *(["weight"] if "weight" in header else [])]
    frame = _read(path, columns, numeric)
    codes: dict[str, np.ndarray] = {}
    problems = _validate(path, frame, spec, present, codes)
    if problems:
        raise DataError(sorted(problems, key=lambda p: (p[1], p[2]))[:MAX_ERRORS])
    if len(frame) == 0:
        raise DataError([(str(path), None, None, "no responses")])
    n = len(frame)
    empty = np.zeros(n, dtype=np.int8)

    def col(c: str) -> pd.Series | None:
        return frame[c] if c in frame else None

    return ResponseColumns(
        codes=tuple(codes.get(k, empty) for k in spec.criteria),
        # a copy, so the parsed block of 25 float columns can be freed
        weight=frame["weight"].to_numpy().copy() if "weight" in frame else np.ones(n),
        stratum=col("stratum"), psu=col("psu"),
        by={c: col(c) for c in by}, calibration={c: col(c) for c in calibration},
        missing_criteria=tuple(missing),
    )


def responses_to_totals(columns: ResponseColumns, spec: IndexSpec) -> PsuTotals:
    """Reduce validated response columns to :class:`PsuTotals`."""
    return totals_from_codes(columns.codes, spec, columns.weight, stratum=columns.stratum,
                             psu=columns.psu, by=columns.by, calibration=columns.calibration)


def read_population(path: str | Path, columns: Sequence[str]) -> pd.DataFrame:
    """Read a population table: ``columns`` plus a positive numeric ``total``.

    Raises
    ------
    DataError
        Missing columns, empty or non-positive totals, duplicate cells.
    """
    path = Path(path)
    header = _header(path)
    need = [*columns, "total"]
    problems = [(str(path), 1, c, "required column is missing") for c in need if c not in header]
    if problems:
        raise DataError(problems)
    frame = pd.read_csv(path, usecols=need, dtype=str, keep_default_na=False,
                        encoding="utf-8-sig")
    total = pd.to_numeric(frame["total"].str.strip(), errors="coerce").to_numpy()
    bad = ~(np.isfinite(total) & (total > 0))
    problems = _bad_rows(str(path), "total", bad, "total must be a number > 0")
    dup = frame.duplicated(subset=list(columns)).to_numpy()
    problems += _bad_rows(str(path), columns[0], dup, "population cell appears twice")
    if problems:
        raise DataError(problems)
    frame["total"] = total
    return frame
