"""The careful reader of responses and population files: pandas' C engine.

Every responses file that the fast path (:mod:`analysis.csv_arrow`) does not
vouch for comes here, so this is where bad input is described: the checks
are vectorised, and errors name the file, the row as a spreadsheet shows it
(the header is row 1) and the column. pandas is imported with this module,
which the command line only loads when it needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .io import MAX_ERRORS, DataError
from .spec import IndexSpec

__all__ = ["bad_rows", "read_checked", "read_population_frame"]


def _read(path: Path, columns: list[str], numeric: list[str]) -> pd.DataFrame:
    try:
        return _parse(path, columns, numeric)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError([(str(path), None, None, f"cannot parse: {exc}")]) from exc


def _parse(path: Path, columns: list[str], numeric: list[str]) -> pd.DataFrame:
    # Text columns keep pandas' inferred dtype (asking for str or object costs up to 0.6 s
    # per million rows); the rare column inferred as numbers is re-read as text below.
    dtypes = {c: "float64" for c in numeric}
    try:
        frame = pd.read_csv(path, usecols=columns, dtype=dtypes, encoding="utf-8-sig",
                            keep_default_na=False, na_values=[""])
    except (UnicodeDecodeError, pd.errors.ParserError):
        raise  # both are ValueErrors, but not a cell that is not a number
    except ValueError:
        return _read_slow(path, columns, numeric)
    return _as_text(path, frame, [c for c in columns if c not in numeric])


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


def bad_rows(name: str, column: str, mask: np.ndarray, message: str) -> list:
    """(file, row, column, message) for the first rows where ``mask`` holds."""
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
        problems += bad_rows(name, c, bad, f"rating must be an integer 1..{spec.points}")
    if "weight" in frame:
        w = frame["weight"].to_numpy()
        # An empty weight is 1, as the app stores a self-selected answer's (its export leaves it empty).
        problems += bad_rows(name, "weight", ~np.isnan(w) & ~(np.isfinite(w) & (w > 0)),
                             "weight must be a finite number > 0")
    for c in ("stratum", "psu"):
        if c in frame:
            problems += bad_rows(name, c, frame[c].isna().to_numpy(), f"{c} is empty")
    if "survey" in frame:
        bad = (frame["survey"] != spec.code).to_numpy()
        problems += bad_rows(name, "survey", bad, f"survey is not {spec.code!r}")
    return problems


def read_checked(path: Path, spec: IndexSpec, present: list[str], columns: list[str],
                 has_weight: bool, keep: list[str]):
    """Read ``columns`` and check every cell; (codes, weight, kept columns, rows).

    ``present`` are the criteria in the file, read as ratings; with
    ``has_weight`` the ``weight`` column is read as numbers; every other
    column is text. The ``keep`` columns come back as pandas Series.

    Raises
    ------
    DataError
        Naming file, row and column of the first problems found.
    """
    numeric = [*present, *(["weight"] if has_weight else [])]
    frame = _read(path, columns, numeric)
    codes: dict[str, np.ndarray] = {}
    problems = _validate(path, frame, spec, present, codes)
    if problems:
        raise DataError(sorted(problems, key=lambda p: (p[1], p[2]))[:MAX_ERRORS])
    # a copy, so the parsed block of 25 float columns can be freed
    weight = np.nan_to_num(frame["weight"].to_numpy(), nan=1.0) if has_weight else None
    return codes, weight, {c: frame[c] for c in keep}, len(frame)


def read_population_frame(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """See :func:`analysis.io.read_population`; the header is already checked."""
    need = [*columns, "total"]
    frame = pd.read_csv(path, usecols=need, dtype=str, keep_default_na=False,
                        encoding="utf-8-sig")
    total = pd.to_numeric(frame["total"].str.strip(), errors="coerce").to_numpy()
    bad = ~(np.isfinite(total) & (total > 0))
    problems = bad_rows(str(path), "total", bad, "total must be a number > 0")
    dup = frame.duplicated(subset=list(columns)).to_numpy()
    problems += bad_rows(str(path), columns[0], dup, "population cell appears twice")
    if problems:
        raise DataError(problems)
    frame["total"] = total
    return frame
