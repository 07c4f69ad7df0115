"""Reading and validating responses and population files (FORMATS.md §2, §3).

Two readers share the work. :mod:`analysis.csv_arrow` reads a valid file
fast (pyarrow, multi-threaded) and declines anything it cannot vouch for;
:mod:`analysis.csv_pandas` then reads it carefully and names the file, the
row as a spreadsheet shows it (the header is row 1) and the column of every
problem. Both give the same columns for a valid file, so the results do not
depend on which one ran. Neither pandas nor pyarrow is imported here: the
command line pays only for the reader it uses.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
    """Validated columns of a responses file, ready for :func:`totals_from_codes`.

    Text columns (``stratum``, ``psu``, ``by``, ``calibration``) are pandas
    Series from the careful reader or :class:`~analysis.totals.CodedColumn`
    from the fast one; the reduction takes either.
    """

    codes: tuple[np.ndarray, ...]
    weight: np.ndarray
    stratum: Any
    psu: Any
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


def read_responses(path: str | Path, spec: IndexSpec, *, by: Sequence[str] = (),
                   calibration: Sequence[str] = (), fast: bool = True) -> ResponseColumns:
    """Read and validate a responses CSV (FORMATS.md §2) for the indices.

    Only the columns the indices need are parsed: the criteria, ``survey``,
    the design columns and the ``by`` / calibration columns. With ``fast``
    (the default) pyarrow reads a valid file first; ``fast=False`` uses only
    the careful reader (the tests compare the two).

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
    has_weight = "weight" in header
    keep = list(dict.fromkeys([*(c for c in ("stratum", "psu") if c in header), *by,
                               *calibration]))
    parsed = None
    if fast:
        from .csv_arrow import read_valid

        parsed = read_valid(path, spec, present, columns, has_weight, keep)
    if parsed is None:
        from .csv_pandas import read_checked

        parsed = read_checked(path, spec, present, columns, has_weight, keep)
    codes, weight, kept, n = parsed
    if n == 0:
        raise DataError([(str(path), None, None, "no responses")])
    empty = np.zeros(n, dtype=np.int8)
    return ResponseColumns(
        codes=tuple(codes.get(k, empty) for k in spec.criteria),
        weight=weight if weight is not None else np.ones(n),
        stratum=kept.get("stratum"), psu=kept.get("psu"),
        by={c: kept[c] for c in by}, calibration={c: kept[c] for c in calibration},
        missing_criteria=tuple(missing),
    )


def responses_to_totals(columns: ResponseColumns, spec: IndexSpec) -> PsuTotals:
    """Reduce validated response columns to :class:`PsuTotals`."""
    return totals_from_codes(columns.codes, spec, columns.weight, stratum=columns.stratum,
                             psu=columns.psu, by=columns.by, calibration=columns.calibration)


def read_population(path: str | Path, columns: Sequence[str]):
    """Read a population table: ``columns`` plus a positive numeric ``total``.

    Returns a pandas DataFrame.

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
    from .csv_pandas import read_population_frame

    return read_population_frame(path, columns)
