"""Indices of a file without a ``psu`` column, streamed with memory bounded by (group × stratum).

Without a ``psu`` column every response is its own PSU, so the cells of
:mod:`analysis.totals` are the rows. The variance needs less: within stratum h,
the domain variance of a linearised statistic is

    Σ_i (z_i − z̄_h)² + (n_h − m) z̄_h²,   z̄_h = Σ_i z_i / n_h,

over the m responses of the group in h (the other n_h − m PSUs of the stratum
have z = 0), and z_i = v_i·M_g is linear in the response's vector of weighted
sums v_i (w·[satisfied], w·[answered], w·rating per criterion) with a matrix
M_g that depends only on the group's estimates. So per (group × stratum) it is
enough to keep m, the mean of v and its centred cross-products C
(Chan, Golub & LeVeque's pairwise update merges batches without cancellation):

    Σ_i (z_i − z̄)² = diag(Mᵀ C M) + m (v̄·M − z̄)².

The estimates, n and df come from the same sums per (group × stratum) as
a one-PSU-per-cell :class:`~analysis.totals.PsuTotals`. The results equal the
in-memory path's (tests/analysis/test_streaming.py: 1e-9 relative). Post-
stratification and raking, ``compare`` and ``rank`` keep the in-memory path.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .estimate import SE_ZERO, _assemble, _block_yx, _measures, linearise
from .spec import IndexSpec
from .streaming import PARQUET_SUFFIXES, _Cells, _csv_batches, _parquet_batches
from .totals import CodedColumn, totals_from_table
from .variance import group_sum

__all__ = ["stream_singleton_indices"]


#: Rows gathered from the reader's batches before their moments are taken (each batch
#: of 4 MB alone gave 1,000 products per batch of a few dozen rows each).
MOMENT_ROWS = 1 << 18


class _Moments:
    """m, mean and centred cross-products of v per (group × stratum) cell."""

    def __init__(self, spec: IndexSpec, blocks: tuple[str, ...]) -> None:
        self.spec, self.blocks = spec, blocks
        self.d = len(blocks) * len(spec.criteria)
        self.m = np.zeros(0)
        self.mean = np.zeros((0, self.d))
        self.cross = np.zeros((0, self.d, self.d))
        sat = np.zeros(spec.points + 1)
        sat[sorted(spec.satisfied)] = 1.0
        self.lut = {"ws": sat, "wa": (np.arange(spec.points + 1) > 0).astype(float),
                    "wr": np.arange(spec.points + 1, dtype=float)}

    def grow(self, cells: int) -> None:
        extra = cells - len(self.m)
        if extra > 0:
            self.m = np.concatenate([self.m, np.zeros(extra)])
            self.mean = np.concatenate([self.mean, np.zeros((extra, self.d))])
            self.cross = np.concatenate([self.cross, np.zeros((extra, self.d, self.d))])

    def add(self, cell: np.ndarray, codes: list[np.ndarray], weight: np.ndarray) -> None:
        order = np.argsort(cell, kind="stable")
        c = np.column_stack([code[order] for code in codes])  # rows by cell, one byte a rating
        w = weight[order][:, None]
        sorted_cell = cell[order]
        starts = np.flatnonzero(np.r_[True, sorted_cell[1:] != sorted_cell[:-1]])
        stops = np.r_[starts[1:], len(order)]
        for a, b in zip(starts, stops, strict=True):
            v = np.hstack([w[a:b] * self.lut[name][c[a:b]] for name in self.blocks])
            mean_b = v.mean(axis=0)
            dev = v - mean_b
            self._merge(int(sorted_cell[a]), b - a, mean_b, dev.T @ dev)

    def _merge(self, i: int, m_b: int, mean_b: np.ndarray, cross_b: np.ndarray) -> None:
        m_a = self.m[i]
        m = m_a + m_b
        delta = mean_b - self.mean[i]
        self.cross[i] += cross_b + (m_a * m_b / m) * np.outer(delta, delta)
        self.mean[i] += delta * (m_b / m)
        self.m[i] = m


def _coefficients(spec: IndexSpec, measure: str, blocks, ratio, x, omega) -> np.ndarray:
    """M per group: (n_groups, d, n_stats + 1), z = v·M (see the module docstring)."""
    k, n_groups = len(spec.criteria), len(ratio)
    element_of = np.repeat(np.arange(len(spec.elements)), [len(e.criteria) for e in spec.elements])
    n_stats = k + len(spec.elements)
    # y and x coefficients of each criterion's sums in each statistic
    ycoef = np.zeros((n_groups, k, n_stats))
    xcoef = np.zeros((n_groups, k, n_stats))
    crit = np.arange(k)
    ycoef[:, crit, crit] = 1.0 / x[:, :k]
    xcoef[:, crit, crit] = -ratio[:, :k] / x[:, :k]
    ycoef[:, crit, k + element_of] = 1.0 / x[:, k + element_of]
    xcoef[:, crit, k + element_of] = -ratio[:, k + element_of] / x[:, k + element_of]
    out = np.zeros((n_groups, len(blocks) * k, n_stats + 1))
    at = {name: slice(b * k, (b + 1) * k) for b, name in enumerate(blocks)}
    if measure == "satisfied":
        out[:, at["ws"], :n_stats] = ycoef
        out[:, at["wa"], :n_stats] = xcoef
    else:  # y = (wr − wa)/(points − 1)
        scale = 1.0 / (spec.points - 1)
        out[:, at["wr"], :n_stats] = ycoef * scale
        out[:, at["wa"], :n_stats] = xcoef - ycoef * scale
    out[:, :, n_stats] = out[:, :, k:n_stats] @ omega
    return out


def stream_singleton_indices(path: str | Path, spec: IndexSpec, *, header: list[str], by=(),
                             measure: str = "satisfied", ci_level: float = 0.95,
                             ci_method: str = "logit", rules=None):
    """The :class:`~analysis.estimate.IndexTable` of a file without ``psu``, read in batches.

    None when a CSV batch needs the careful reader (the caller then takes the
    in-memory path, which names the problems).
    """
    from .io import DataError
    from .reporting import ReportingRules

    path = Path(path)
    rules = rules or ReportingRules()
    measures = _measures(measure)
    blocks = tuple(dict.fromkeys(b for m in measures
                                 for b in (("ws", "wa") if m == "satisfied" else ("wr", "wa"))))
    present = [k for k in spec.criteria if k in header]
    names = [*dict.fromkeys(by), "stratum"]
    text = [c for c in names if c in header]
    cells, moments = _Cells(spec, len(names)), _Moments(spec, blocks)
    batches = (_parquet_batches(path, spec, present, text, "weight" in header, "survey" in header)
               if path.suffix.lower() in PARQUET_SUFFIXES
               else _csv_batches(path, spec, present, text, "weight" in header, "survey" in header))
    ids: dict[tuple, int] = {}  # global codes of a (group × stratum) cell -> its moments
    pending: list = []
    rows = 0
    for batch in batches:
        if batch is None:
            return None
        ratings, weight, kept = batch
        n = len(weight)
        rows += n
        empty = np.zeros(n, dtype=np.int8)
        codes = [ratings.get(k, empty) for k in spec.criteria]
        row_codes = [cells.global_codes(c, kept[name]) if name in kept else np.zeros(n, np.int64)
                     for c, name in enumerate(names)]
        if "stratum" not in kept:
            cells.labels[-1].setdefault("1", 0)
        cells.add(row_codes, codes, weight)
        radix = [int(code.max()) + 1 for code in row_codes]
        uniq, inv = np.unique(np.ravel_multi_index(row_codes, radix), return_inverse=True)
        found = np.column_stack(np.unravel_index(uniq, radix)).tolist()
        cell_id = np.array([ids.setdefault(tuple(t), len(ids)) for t in found], dtype=np.int64)
        pending.append((cell_id[inv], codes, weight))
        if sum(len(p[2]) for p in pending) >= MOMENT_ROWS:
            _flush(moments, pending, len(ids))
    _flush(moments, pending, len(ids))
    if rows == 0:
        raise DataError([(str(path), None, None, "no responses")])
    order = np.array([ids[tuple(t)] for t in cells.codes.tolist()], dtype=np.int64)
    return _estimate(spec, cells, moments, order, names, list(dict.fromkeys(by)), measures,
                     blocks, rows, ci_level, ci_method, rules)


def _flush(moments: _Moments, pending: list, n_cells: int) -> None:
    """Add the pending batches' rows to the moments at once: fewer, larger products per cell."""
    if not pending:
        return
    moments.grow(n_cells)
    k = len(pending[0][1])
    moments.add(np.concatenate([p[0] for p in pending]),
                [np.concatenate([p[1][j] for p in pending]) for j in range(k)],
                np.concatenate([p[2] for p in pending]))
    pending.clear()


def _estimate(spec, cells, moments, order, names, by, measures, blocks, rows, ci_level,
              ci_method, rules):
    table = cells.table(names)
    pseudo = np.arange(len(order))  # each (group × stratum) cell one pseudo-PSU
    table["psu"] = CodedColumn(codes=pseudo, labels=pseudo)
    small = totals_from_table(table, spec, by=by)
    # small's PSU codes number the pseudo-PSUs by stratum label, then by row (its nested
    # ordering): the table row of each of small's cells from the same sort
    s_code = table["stratum"].codes  # in sorted label order, as small's strata
    row = np.lexsort((np.arange(len(order)), s_code))[small.cell_psu]
    take = order[row]
    m, mean, cross = moments.m[take], moments.mean[take], moments.cross[take]
    if not np.array_equal(m, small.n):
        raise AssertionError("singleton moments out of step with the cell sums")
    g = small.cell_group
    h = small.psu_stratum[small.cell_psu]
    n_strata = int(h.max()) + 1
    n_h = np.bincount(h, weights=m, minlength=n_strata)[h]  # every response a PSU of its stratum
    lonely = n_h == 1
    scale = np.where(lonely, 1.0, n_h / np.maximum(n_h - 1, 1))
    omega = np.array([e.weight for e in spec.elements]) / spec.total_weight
    parts = []
    for measure in measures:
        lin = linearise(small, measure)
        y, x = _block_yx(small, measure, slice(None))
        yg, xg = group_sum(y, g, small.n_groups), group_sum(x, g, small.n_groups)
        has = xg > 0
        ratio = np.where(has, np.divide(yg, xg, out=np.zeros_like(yg), where=has), 0.0)
        coef = _coefficients(spec, measure, blocks, ratio, np.where(has, xg, 1.0), omega)
        mg = coef[g]  # (cells, d, stats)
        spread = (mg * (cross @ mg)).sum(axis=1)  # diag(MᵀCM) per cell, by matmuls
        # a statistic constant within the cell (everyone satisfied) has no spread; the
        # quadratic form leaves round-off of its terms' size: below that bound it is zero
        abs_mg = np.abs(mg)
        bound = (abs_mg * (np.abs(cross) @ abs_mg)).sum(axis=1)
        spread[spread <= 8 * moments.d * np.finfo(float).eps * bound] = 0.0
        u_mean = np.einsum("cd,cds->cs", mean, mg)
        zbar = np.where(lonely, 0.0, m / n_h)[:, None] * u_mean
        ss = spread + m[:, None] * (u_mean - zbar) ** 2 + (n_h - m)[:, None] * zbar ** 2
        var = group_sum(ss * scale[:, None], g, small.n_groups)
        se = np.sqrt(np.maximum(var, 0.0))
        se[se < SE_ZERO] = 0.0
        lonely_g = np.bincount(g, weights=lonely, minlength=small.n_groups) > 0
        parts.append((lin, se, lonely_g))
    df_g = (np.bincount(g, weights=m, minlength=small.n_groups)
            - np.bincount(g, minlength=small.n_groups)).astype(np.int64)
    design = SimpleNamespace(spec=spec, by=small.by, n_groups=small.n_groups, n_strata=n_strata,
                             n_psu=rows, stratum_fpc=None, group_key=small.group_key)
    return _assemble(design, parts, df_g, ci_level, ci_method, rules, None)


def indices_without_psu(path: str | Path, spec: IndexSpec, *, by=(), **options):
    """The indices of a large CSV or any Parquet file without ``psu``, streamed; else None.

    What ``python -m analysis indices`` asks first (without calibration): a
    CSV below :data:`analysis.streaming.STREAM_MIN_BYTES_NO_PSU`, one with a ``psu``
    column, or one a batch of which needs the careful reader gives None, and
    the caller reads it as before. ``options`` go to :func:`stream_singleton_indices`.
    """
    from . import streaming
    from .io import _check_header, _header

    path = Path(path)
    parquet = path.suffix.lower() in PARQUET_SUFFIXES
    if parquet:
        header = streaming._parquet_header(path)
    elif path.exists() and path.stat().st_size >= streaming.STREAM_MIN_BYTES_NO_PSU:
        header = _header(path)
    else:
        return None
    if "psu" in header or {"stratum", "weight"} & set(by):
        return None
    _check_header(path, header, spec, by, ())
    return stream_singleton_indices(path, spec, header=header, by=by, **options)
