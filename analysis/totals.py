"""PSU totals: the sufficient statistics every estimator in this package uses.

All index estimators, their linearised variances, post-stratification and
raking are linear in weighted sums taken per *cell*, a cell being one
(group × stratum × PSU × calibration cell) combination. Row-level data is
reduced to these cells by :func:`totals_from_rows`; a database can produce
the same table with one ``GROUP BY`` and hand it to
:func:`totals_from_table`. Both return a :class:`PsuTotals`, which is what
:func:`analysis.estimate.estimate_indices` takes.

Aggregate table contract (:func:`totals_from_table`)
-----------------------------------------------------
One row per (group columns × ``stratum`` × ``psu`` [× calibration columns])
with at least one response, with the columns:

=====================  ====================================================
``<by columns>``       the grouping columns, e.g. ``agency`` (any names)
``stratum``            stratum code; one constant value when there is none
``psu``                PSU code, read within its stratum; when the survey
                       has no clusters, use the response id
``<calib. columns>``   post-stratification / raking columns, if any
``n``                  COUNT(*) of responses in the cell
``w``                  SUM(weight)
``<K>__ws``            SUM(weight · [K in satisfied]) for criterion K
``<K>__wa``            SUM(weight · [K answered])
``<K>__wr``            SUM(weight · K) (rating sum, NULL counted as 0)
``<K>__n``             COUNT(K) (number of answers)
``<E>__n``             COUNT of responses answering at least one criterion of
                       element E
``OVERALL__n``         COUNT of responses answering at least one criterion
=====================  ====================================================

Every PSU of the design must appear in at least one row (the variance of a
domain is taken over the whole design, with zeros outside the domain), so
the web app should aggregate over the whole survey period and filter groups
afterwards, not before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from .errors import AnalysisError
from .parallel import run, threads_for
from .spec import IndexSpec
from .variance import unique_inverse

__all__ = ["CodedColumn", "PsuTotals", "totals_from_codes", "totals_from_rows",
           "totals_from_table"]


@dataclass(frozen=True)
class CodedColumn:
    """A text column already factorised: ``labels[codes]`` gives the values.

    ``labels`` are sorted and unique and ``codes`` index them, the order
    :func:`_factorize` gives. A reader that gets codes for free (pyarrow's
    dictionary columns) hands them over this way, so the reduction neither
    hashes a million strings again nor imports pandas.
    """

    codes: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)


@dataclass(frozen=True)
class PsuTotals:
    """Weighted sums per cell (group × stratum × PSU × calibration cell).

    Attributes
    ----------
    spec : IndexSpec
        The index structure the criteria columns follow.
    by : tuple of str
        Names of the grouping columns.
    group_labels : tuple of ndarray
        One array per ``by`` column, the label of each group (``n_groups``).
    cell_group, cell_psu : ndarray of int
        Group and PSU code of each cell; PSU codes are global (unique across
        strata).
    psu_stratum : ndarray of int
        Stratum code of each PSU of the whole design.
    calib : tuple of str
        Names of the calibration columns (empty if none).
    calib_labels : tuple of ndarray
        Label of each calibration cell per calibration column.
    cell_calib : ndarray of int or None
        Calibration cell code of each cell.
    n, w : ndarray
        Responses and Σw per cell.
    ws, wa, wr : ndarray, shape (n_cells, n_criteria)
        Σw·s, Σw·a and Σw·rating per criterion.
    n_answered : ndarray of int, shape (n_cells, n_criteria)
        Answers per criterion.
    n_element : ndarray of int, shape (n_cells, n_elements)
        Responses answering at least one criterion of each element.
    n_any : ndarray of int
        Responses answering at least one criterion.
    stratum_fpc : ndarray or None
        1 − f_h per stratum code when the strata were drawn without
        replacement from known frames (see :func:`analysis.sampling.with_fpc`);
        None (the default) for with-replacement variances.
    """

    spec: IndexSpec
    by: tuple[str, ...]
    group_labels: tuple[np.ndarray, ...]
    cell_group: np.ndarray
    cell_psu: np.ndarray
    psu_stratum: np.ndarray
    calib: tuple[str, ...]
    calib_labels: tuple[np.ndarray, ...]
    cell_calib: np.ndarray | None
    n: np.ndarray
    w: np.ndarray
    ws: np.ndarray
    wa: np.ndarray
    wr: np.ndarray
    n_answered: np.ndarray
    n_element: np.ndarray
    n_any: np.ndarray
    stratum_fpc: np.ndarray | None = None

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.group_labels[0]) if self.group_labels else 1

    @property
    def n_psu(self) -> int:
        """Number of PSUs in the whole design."""
        return len(self.psu_stratum)

    @property
    def n_strata(self) -> int:
        """Number of strata in the whole design."""
        return int(self.psu_stratum.max()) + 1 if len(self.psu_stratum) else 0

    def psus_per_stratum(self) -> np.ndarray:
        """n_h: PSUs of each stratum in the whole design."""
        return np.bincount(self.psu_stratum, minlength=self.n_strata)

    def group_key(self, g: int) -> dict[str, object]:
        """The ``by`` mapping of group ``g``."""
        return {name: _plain(labels[g]) for name, labels in zip(self.by, self.group_labels, strict=True)}

    def with_weights(self, factor: np.ndarray) -> PsuTotals:
        """A copy whose weighted sums are multiplied by ``factor`` (one per cell)."""
        f = np.asarray(factor, dtype=float)
        col = f[:, None]
        return _replace(self, w=self.w * f, ws=self.ws * col, wa=self.wa * col, wr=self.wr * col)


def _replace(totals: PsuTotals, **changes: object) -> PsuTotals:
    fields = {k: getattr(totals, k) for k in totals.__dataclass_fields__}
    fields.update(changes)
    return PsuTotals(**fields)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


def _factorize(column) -> tuple[np.ndarray, np.ndarray]:
    """Codes in sorted label order (missing last) and the labels; unsorted factorize is 3× faster."""
    if isinstance(column, CodedColumn):
        return column.codes, column.labels
    import pandas as pd  # here, not at the top: the CLI's pyarrow path never needs it

    if not isinstance(column, pd.Series | pd.Categorical):
        column = np.asarray(column)
    codes, uniq = pd.factorize(column, sort=False, use_na_sentinel=False)
    labels = pd.Series(np.asarray(uniq, dtype=object))
    order = labels.sort_values(na_position="last", kind="stable").index.to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], labels.to_numpy()[order]


def _codes(columns: Sequence, n: int) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Integer codes (sorted order) of the combined key of ``columns`` and each code's labels."""
    if not columns:
        return np.zeros(n, dtype=np.int64), ()
    if len(columns) == 1:
        codes, labels = _factorize(columns[0])
        return codes, (labels,)
    combined = np.zeros(n, dtype=np.int64)
    uniques = []
    for column in columns:
        codes, uniq = _factorize(column)
        combined = combined * len(uniq) + codes
        uniques.append(uniq)
    keys, inv = np.unique(combined, return_inverse=True)
    labels = []
    for uniq in reversed(uniques):
        labels.append(uniq[keys % len(uniq)])
        keys = keys // len(uniq)
    return inv.astype(np.int64), tuple(reversed(labels))


def _design_codes(stratum: np.ndarray | None, psu: np.ndarray | None, n: int):
    """Global PSU codes (PSU read within stratum) and the stratum of each PSU."""
    s_codes, _ = _codes([stratum] if stratum is not None else [], n)
    if psu is None:
        return np.arange(n, dtype=np.int64), s_codes.copy()
    p_codes, _ = _codes([psu], n)
    radix = int(p_codes.max()) + 1
    # every PSU label in one stratum (the usual design): the PSUs ordered by stratum and label
    nested = _nested_cells(s_codes, p_codes, radix)
    if nested is not None:
        return nested[0], nested[1]["cell_group"]
    uniq, psu_codes = _dense_unique(s_codes * radix + p_codes, (int(s_codes.max()) + 1) * radix)
    return psu_codes.astype(np.int64), (uniq // radix).astype(np.int64)


def _dense_unique(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(key, return_inverse=True) for keys in [0, size): O(n) when size is moderate.

    Flags and positions live in arrays of ``size`` entries that ``np.zeros``
    gets from the OS untouched; only the pages the keys hit are ever written
    (a bincount and a cumsum over all of them took 0.1 s for 10⁷).
    """
    if size > 16 * len(key) + 1_000_000:
        return unique_inverse(key)
    seen = np.zeros(size, dtype=bool)
    seen[key] = True
    uniq = np.flatnonzero(seen)
    position = np.zeros(size, dtype=np.int64)
    position[uniq] = np.arange(len(uniq))
    return uniq, position[key]


def _cell_index(by_cols, calib_cols, stratum, psu, n_rows):
    """Cell of every row, and the codes and labels that describe the cells."""
    g, g_labels = _codes(by_cols, n_rows)
    c, c_labels = _codes(calib_cols, n_rows)
    p, psu_stratum = _design_codes(stratum, psu, n_rows)
    n_p, n_c = len(psu_stratum), int(c.max(initial=-1)) + 1
    nested = _nested_cells(g, p, n_p) if psu is not None and not calib_cols else None
    if nested is not None:
        return (*nested, g_labels, c_labels, psu_stratum)
    key = (g * max(n_p, 1) + p) * max(n_c, 1) + c
    uniq, inv = _dense_unique(key, (int(g.max(initial=0)) + 1) * max(n_p, 1) * max(n_c, 1))
    cells = {
        "cell_calib": uniq % max(n_c, 1),
        "cell_group": (uniq // max(n_c, 1)) // max(n_p, 1),
        "cell_psu": (uniq // max(n_c, 1)) % max(n_p, 1),
    }
    return inv, cells, g_labels, c_labels, psu_stratum


def _nested_cells(g: np.ndarray, p: np.ndarray, n_p: int):
    """The cells when every PSU lies in one group (PSUs nested in agencies), else None.

    Then the cells are the PSUs, ordered by group and PSU code as the dense
    unique of (group, PSU) orders them: the same cells from a scatter and
    three gathers (the unique of 10⁷ possible keys took 0.015 s). Every code
    below ``n_p`` must occur in ``p``. Also used for PSUs within strata.
    """
    if n_p == 0:
        return None
    group_of = np.zeros(n_p, dtype=np.int64)
    group_of[p] = g
    if not np.array_equal(group_of[p], g):
        return None
    order = np.argsort(group_of, kind="stable")
    cell_of = np.empty(n_p, dtype=np.int64)
    cell_of[order] = np.arange(n_p)
    cells = {"cell_calib": np.zeros(n_p, dtype=np.int64), "cell_group": group_of[order],
             "cell_psu": order.astype(np.int64)}
    return cell_of[p], cells


def _assemble(spec, by, calib, labels, cells, sums) -> PsuTotals:
    g_labels, c_labels, psu_stratum = labels
    # counts arrive as float sums (bincount) or already as integers; int32 halves the memory
    counts = {k: (sums[k] if sums[k].dtype.kind == "i" else np.rint(sums[k])).astype(
        np.int32 if sums[k].ndim == 2 else np.int64, copy=False)
        for k in ("n", "n_answered", "n_element", "n_any")}
    return PsuTotals(
        spec=spec, by=tuple(by), group_labels=g_labels if by else (),
        cell_group=cells["cell_group"].astype(np.int64),
        cell_psu=cells["cell_psu"].astype(np.int64),
        psu_stratum=psu_stratum, calib=tuple(calib), calib_labels=c_labels,
        cell_calib=cells["cell_calib"].astype(np.int64) if calib else None,
        w=sums["w"], ws=sums["ws"], wa=sums["wa"], wr=sums["wr"], **counts,
    )


def totals_from_codes(
    codes: Sequence[np.ndarray],
    spec: IndexSpec,
    weight: np.ndarray,
    *,
    stratum=None,
    psu=None,
    by: Mapping[str, Sequence] | None = None,
    calibration: Mapping[str, Sequence] | None = None,
) -> PsuTotals:
    """Reduce validated rating codes (0 = not answered, else the rating) to cells.

    The fast path behind :func:`totals_from_rows` and the CLI: one
    ``bincount`` per criterion over (cell × rating value) gives Σw·s, Σw·a,
    Σw·r and the answer counts at once. On large inputs two threads share
    the criteria (``bincount`` releases the GIL); every sum is still taken
    by one ``bincount`` in row order, so the result does not depend on it.
    """
    by, calibration = dict(by or {}), dict(calibration or {})
    n_rows = len(weight)
    inv, cells, *labels = _cell_index(list(by.values()), list(calibration.values()),
                                      stratum, psu, n_rows)
    m = len(cells["cell_group"])
    k = len(spec.criteria)
    # column-major: every criterion fills one contiguous column
    sums = {name: np.zeros((m, k), order="F") for name in ("ws", "wa", "wr")}
    sums["n_answered"] = np.zeros((m, k), dtype=np.int32, order="F")
    sums["n_element"] = np.zeros((m, len(spec.elements)), order="F")
    any_element = np.empty((len(spec.elements), n_rows), dtype=bool)
    if m == n_rows:
        order = np.argsort(inv, kind="stable")
        ordered = weight[order]  # once, not once per criterion
        jobs = [partial(_fill_own_cells, sums, j, code, ordered, order, spec)
                for j, code in enumerate(codes)]
    else:
        # cell·(points + 1) once; each thread has one buffer for every criterion's
        # (cell, rating) key: a fresh key per criterion cost as much as its two bincounts
        base = inv.astype(np.intp) * (spec.points + 1)
        jobs = [partial(_fill_shared_cells, sums, j, code, weight, base, spec)
                for j, code in enumerate(codes)]
    start = 0
    for e, element in enumerate(spec.elements):
        stop = start + len(element.criteria)
        jobs.append(partial(_fill_element, sums["n_element"], any_element, e, codes[start:stop],
                            inv))
        start = stop
    jobs.append(partial(_fill_counts, sums, inv, weight))
    run(jobs, threads_for(n_rows), lambda: np.empty(n_rows, dtype=np.intp))
    sums["n_any"] = np.bincount(inv, weights=any_element.any(axis=0), minlength=m)
    return _assemble(spec, list(by), list(calibration), labels, cells, sums)


def _fill_element(out, any_element, e, codes, inv, scratch) -> None:
    """Responses answering element e per cell; codes are >= 0, so the OR of its codes is > 0."""
    either = np.array(codes[0], dtype=np.result_type(*codes))
    for code in codes[1:]:
        np.bitwise_or(either, code, out=either)
    np.greater(either, 0, out=any_element[e])
    # counted as (cell, answered) pairs: an integer bincount, not one over the flags as floats
    key = np.add(np.multiply(inv, 2, out=scratch), any_element[e], out=scratch)
    out[:, e] = np.bincount(key, minlength=2 * len(out))[1::2]


def _fill_counts(sums, inv, weight, scratch) -> None:
    m = len(sums["ws"])
    sums["n"] = np.bincount(inv, minlength=m).astype(float)
    sums["w"] = np.bincount(inv, weights=weight, minlength=m)


def _fill_shared_cells(sums, j, code, weight, base, spec, key) -> None:
    """Column j of the sums when cells hold several responses: one bincount per sum."""
    m, width = len(sums["ws"]), spec.points + 1
    np.add(base, code, out=key)
    sw = np.bincount(key, weights=weight, minlength=m * width).reshape(m, width)
    sn = np.bincount(key, minlength=m * width).reshape(m, width)
    # plain sums, not BLAS products: tall thin matmuls are slow on a busy machine
    sums["ws"][:, j] = sw[:, sorted(spec.satisfied)].sum(axis=1)
    sums["wa"][:, j] = sw[:, 1:].sum(axis=1)
    sums["wr"][:, j] = sum(r * sw[:, r] for r in range(2, width)) + sw[:, 1]
    sums["n_answered"][:, j] = sn[:, 1:].sum(axis=1)


def _fill_own_cells(sums, j, code, ordered_weight, order, spec, scratch) -> None:
    """Column j of the sums when every response is its own cell (no PSU column)."""
    is_satisfied = np.zeros(spec.points + 1)
    is_satisfied[sorted(spec.satisfied)] = 1.0
    c, w = code[order], ordered_weight  # rows in cell order: a gather, not a random scatter
    answered = c > 0
    sums["ws"][:, j] = w * is_satisfied[c]
    sums["wa"][:, j] = w * answered
    sums["wr"][:, j] = w * c
    sums["n_answered"][:, j] = answered


def _ratings_matrix(ratings, spec: IndexSpec) -> np.ndarray:
    if isinstance(ratings, Mapping):
        missing = [k for k in spec.criteria if k not in ratings]
        if missing:
            raise AnalysisError(f"no ratings for criteria {missing}")
        return np.column_stack([np.asarray(ratings[k], dtype=float) for k in spec.criteria])
    r = np.asarray(ratings, dtype=float)
    if r.ndim != 2 or r.shape[1] != len(spec.criteria):
        raise AnalysisError(f"ratings must have {len(spec.criteria)} columns, got shape {r.shape}")
    return r


def _check_rows(r: np.ndarray, w: np.ndarray, spec: IndexSpec) -> None:
    answered = ~np.isnan(r)
    vals = r[answered]
    if np.any((vals != np.rint(vals)) | (vals < 1) | (vals > spec.points)):
        raise AnalysisError(f"ratings must be integers 1..{spec.points}")
    if not np.all(np.isfinite(w) & (w > 0)):
        raise AnalysisError("weights must be finite and > 0")


def totals_from_rows(
    ratings,
    spec: IndexSpec,
    *,
    weight: np.ndarray | None = None,
    stratum: np.ndarray | None = None,
    psu: np.ndarray | None = None,
    by: Mapping[str, np.ndarray] | None = None,
    calibration: Mapping[str, np.ndarray] | None = None,
) -> PsuTotals:
    """Reduce row-level responses to :class:`PsuTotals`.

    Parameters
    ----------
    ratings : mapping of str to array, or 2-D array
        Ratings per criterion (float, NaN = not answered); a 2-D array has
        one column per criterion in ``spec.criteria`` order.
    spec : IndexSpec
        Index structure.
    weight, stratum, psu : array, optional
        Design columns. Without ``psu`` each response is its own PSU;
        without ``stratum`` there is one stratum; without ``weight`` all 1.
    by : mapping of str to array, optional
        Grouping columns (domains).
    calibration : mapping of str to array, optional
        Post-stratification or raking columns to keep in the cells.

    Returns
    -------
    PsuTotals
    """
    r = _ratings_matrix(ratings, spec)
    n_rows = r.shape[0]
    if n_rows == 0:
        raise AnalysisError("no responses")
    w = np.ones(n_rows) if weight is None else np.asarray(weight, dtype=float)
    _check_rows(r, w, spec)
    codes = [np.nan_to_num(r[:, j], nan=0.0).astype(np.int16) for j in range(r.shape[1])]
    return totals_from_codes(codes, spec, w, stratum=stratum, psu=psu, by=by,
                             calibration=calibration)


def totals_from_table(
    table: Mapping[str, Sequence],
    spec: IndexSpec,
    *,
    by: Sequence[str] = (),
    calibration: Sequence[str] = (),
) -> PsuTotals:
    """Build :class:`PsuTotals` from an aggregate table (see the module docstring).

    Parameters
    ----------
    table : mapping of str to sequence
        Columns of the aggregate table (a ``pandas.DataFrame`` or a dict of
        arrays, e.g. from a SQL ``GROUP BY``).
    spec : IndexSpec
        Index structure.
    by : sequence of str
        Grouping columns present in ``table``.
    calibration : sequence of str
        Post-stratification / raking columns present in ``table``.

    Returns
    -------
    PsuTotals
    """
    crit = spec.criteria
    need = [*by, *calibration, "stratum", "psu", "n", "w"]
    need += [f"{k}__{s}" for k in crit for s in ("ws", "wa", "wr", "n")]
    need += [f"{e.code}__n" for e in spec.elements] + ["OVERALL__n"]
    missing = [c for c in need if c not in table]
    if missing:
        raise AnalysisError(f"aggregate table lacks columns {missing}")
    # key columns may come already coded (analysis/streaming.py): no pandas for them
    col = {c: table[c] if isinstance(table[c], CodedColumn) else np.asarray(table[c]) for c in need}
    n_rows = len(col["n"])
    if n_rows == 0:
        raise AnalysisError("aggregate table is empty")

    def mat(suffix: str) -> np.ndarray:
        # asarray: no copy of a float column before column_stack's own
        return np.column_stack([np.asarray(col[f"{k}__{suffix}"], dtype=float) for k in crit])

    sums = {
        "n": col["n"].astype(float), "w": col["w"].astype(float),
        "ws": mat("ws"), "wa": mat("wa"), "wr": mat("wr"), "n_answered": mat("n"),
        "n_element": np.column_stack([col[f"{e.code}__n"].astype(float) for e in spec.elements]),
        "n_any": col["OVERALL__n"].astype(float),
    }
    if np.any(sums["n"] <= 0) or np.any(sums["w"] <= 0):
        raise AnalysisError("aggregate table has a cell with n <= 0 or w <= 0")
    inv, cells, *labels = _cell_index([col[b] for b in by], [col[c] for c in calibration],
                                      col["stratum"], col["psu"], n_rows)
    m = len(cells["cell_group"])
    if m == n_rows:
        # Already one row per cell (a table summed per cell beforehand): taking each cell's row
        # is what the sums below give, 0 + x = x to the bit, without a pass per column.
        row_of = np.empty(m, dtype=np.int64)
        row_of[inv] = np.arange(n_rows)
        merged = {name: np.take(v, row_of, axis=0) for name, v in sums.items()}
        return _assemble(spec, list(by), list(calibration), labels, cells, merged)
    merged = {name: (np.bincount(inv, weights=v, minlength=m) if v.ndim == 1 else
                     np.column_stack([np.bincount(inv, weights=v[:, j], minlength=m)
                                      for j in range(v.shape[1])]))
              for name, v in sums.items()}
    return _assemble(spec, list(by), list(calibration), labels, cells, merged)
