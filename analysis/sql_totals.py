"""The per-cell totals as one SQL ``GROUP BY``, run where the responses already live.

:func:`totals_query` writes the query whose result is the aggregate table of
:mod:`analysis.totals` (its docstring's contract) for a questionnaire and a
table shaped like the responses CSV (FORMATS.md §2): one row per response,
one column per criterion holding 1..points or NULL / an empty text. The
query's result, saved as CSV or Parquet, is what
``python -m analysis indices --totals FILE`` finishes from, with the same
numbers as the CSV path (the tests run it on DuckDB, PostgreSQL and Spark
SQL). Dialects differ only in identifier quoting and type names; the query
uses nothing else that is dialect-specific, so the Spark text runs
unchanged on a cluster.

Ratings and weights are read through text (``NULLIF(TRIM(CAST(x AS text)),
'')``), so a table loaded from the CSV with every column as text works as
well as one with numeric columns. ``BAD__n`` counts the responses of a cell
with a rating that is not an integer 1..points or a weight that is not
> 0; the ``--totals`` reader refuses a result where it is not zero.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import AnalysisError
from .spec import IndexSpec

__all__ = ["DIALECTS", "read_totals_table", "totals_query"]

#: Identifier quote, text type and floating type of each dialect.
DIALECTS = {
    "duckdb": ('"', "VARCHAR", "DOUBLE"),
    "postgresql": ('"', "TEXT", "DOUBLE PRECISION"),
    "spark": ("`", "STRING", "DOUBLE"),
}


def _ident(name: str, quote: str) -> str:
    if not name or "\x00" in name:
        raise AnalysisError(f"bad column or table name {name!r}")
    return quote + name.replace(quote, quote * 2) + quote


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def totals_query(spec: IndexSpec, table: str, dialect: str, *, by: Sequence[str] = (),
                 calibration: Sequence[str] = (), stratum: str | None = "stratum",
                 psu: str | None = "psu", weight: str | None = "weight",
                 response_id: str = "response_id", survey: str | None = "survey") -> str:
    """The ``GROUP BY`` query giving the aggregate table of :func:`totals_from_table`.

    Parameters
    ----------
    spec : IndexSpec
        The questionnaire's index structure (criteria, scale, satisfied set).
    table : str
        Table or view holding the responses; a dotted name (``schema.table``)
        is quoted part by part.
    dialect : {"duckdb", "postgresql", "spark"}
    by, calibration : sequence of str
        Grouping and post-stratification / raking columns.
    stratum, psu, weight : str or None
        Design columns; None when the table has none (one stratum, every
        response its own PSU, every weight 1, as in the CSV path).
    response_id : str
        The PSU of each response when there is no ``psu`` column.
    survey : str or None
        Column holding the questionnaire code; the query keeps the rows of
        ``spec.code``. None: every row is the questionnaire's.
    """
    if dialect not in DIALECTS:
        raise AnalysisError(f"unknown dialect {dialect!r}; use one of {sorted(DIALECTS)}")
    quote, text, real = DIALECTS[dialect]
    q = lambda name: _ident(name, quote)  # noqa: E731
    source = ".".join(q(part) for part in table.split("."))

    def number(column: str) -> str:
        return f"CAST(NULLIF(TRIM(CAST({q(column)} AS {text})), '') AS {real})"

    keys = list(dict.fromkeys([*by, *calibration]))
    if {"stratum", "psu"} & set(keys):
        raise AnalysisError("stratum and psu are design columns, not --by or calibration columns")
    inner = [f"{q(c)} AS {q(c)}" for c in keys]
    inner.append(f"CAST({q(stratum)} AS {text}) AS {q('stratum')}" if stratum
                 else f"'1' AS {q('stratum')}")
    inner.append(f"CAST({q(psu if psu else response_id)} AS {text}) AS {q('psu')}")
    inner.append(f"COALESCE({number(weight)}, 1.0) AS {q('w')}" if weight
                 else f"CAST(1.0 AS {real}) AS {q('w')}")
    crit = spec.criteria
    inner += [f"{number(k)} AS {q(k)}" for k in crit]
    where = f"\nWHERE {q(survey)} = {_literal(spec.code)}" if survey else ""

    satisfied = ", ".join(str(r) for r in sorted(spec.satisfied))
    scale = ", ".join(str(r) for r in range(1, spec.points + 1))
    outer = [f"r.{q(c)}" for c in (*keys, "stratum", "psu")]
    outer += ["COUNT(*) AS " + q("n"), f"SUM(r.{q('w')}) AS {q('w')}"]
    for k in crit:
        v = f"r.{q(k)}"
        outer += [f"SUM(CASE WHEN {v} IN ({satisfied}) THEN r.{q('w')} ELSE 0 END) AS {q(k + '__ws')}",
                  f"SUM(CASE WHEN {v} IS NOT NULL THEN r.{q('w')} ELSE 0 END) AS {q(k + '__wa')}",
                  f"SUM(r.{q('w')} * COALESCE({v}, 0)) AS {q(k + '__wr')}",
                  f"COUNT({v}) AS {q(k + '__n')}"]

    def any_answered(codes) -> str:
        either = " OR ".join(f"r.{q(k)} IS NOT NULL" for k in codes)
        return f"SUM(CASE WHEN {either} THEN 1 ELSE 0 END)"

    outer += [f"{any_answered(e.criteria)} AS {q(e.code + '__n')}" for e in spec.elements]
    outer.append(f"{any_answered(crit)} AS {q('OVERALL__n')}")
    bad = " OR ".join([f"r.{q(k)} NOT IN ({scale})" for k in crit] + [f"NOT r.{q('w')} > 0"])
    outer.append(f"SUM(CASE WHEN {bad} THEN 1 ELSE 0 END) AS {q('BAD__n')}")
    group = ", ".join(f"r.{q(c)}" for c in (*keys, "stratum", "psu"))
    return ("SELECT\n  " + ",\n  ".join(outer) + "\nFROM (\n  SELECT\n    "
            + ",\n    ".join(inner) + f"\n  FROM {source}{where}\n) AS r\nGROUP BY {group}\n")


def read_totals_table(path, spec: IndexSpec, *, by: Sequence[str] = (),
                      calibration: Sequence[str] = ()):
    """:class:`~analysis.totals.PsuTotals` from a saved result of :func:`totals_query`.

    ``path`` is a CSV (with a header) or a Parquet file (by its ``.parquet``
    / ``.parq`` ending). Key columns are read as text, as the CSV path reads
    them, so the groups' labels are the same.

    Raises
    ------
    DataError
        An unreadable file, a missing column, or responses the query found
        invalid (``BAD__n`` > 0).
    """
    from pathlib import Path

    import numpy as np
    import pyarrow as pa

    from .io import DataError
    from .totals import totals_from_table

    path = Path(path)
    keys = list(dict.fromkeys([*by, *calibration, "stratum", "psu"]))
    table = _read_table(path, keys)
    missing = [c for c in keys if c not in table.column_names]
    if missing:
        raise DataError([(str(path), 1, c, "required column is missing") for c in missing])
    if "BAD__n" in table.column_names:
        bad = np.asarray(table.column("BAD__n").fill_null(0).to_numpy(), dtype=float)
        if bad.sum() > 0:
            row = int(np.flatnonzero(bad > 0)[0])
            raise DataError([(str(path), row + 2, "BAD__n",
                              f"{int(bad.sum())} response(s) have a rating outside "
                              f"1..{spec.points} or a weight that is not > 0")])
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if name in keys:
            if column.null_count:
                row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
                raise DataError([(str(path), row + 2, name, f"{name} is empty")])
            column = column.cast(pa.string())
            columns[name] = np.array(column.to_pylist(), dtype=object)
        else:
            columns[name] = np.asarray(column.fill_null(0).to_numpy(), dtype=float)
    try:
        return totals_from_table(columns, spec, by=by, calibration=calibration)
    except DataError:
        raise
    except AnalysisError as exc:  # a missing column, a cell with n <= 0
        raise DataError([(str(path), None, None, str(exc))]) from exc


def _read_table(path, keys):
    import pyarrow as pa

    from .io import DataError

    try:
        if path.suffix.lower() in (".parquet", ".parq"):
            from pyarrow import parquet

            return parquet.read_table(path)
        from pyarrow import csv as pacsv

        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in keys}, strings_can_be_null=False))
    except (OSError, pa.ArrowException) as exc:
        raise DataError([(str(path), None, None, f"cannot read: {exc}")]) from exc
