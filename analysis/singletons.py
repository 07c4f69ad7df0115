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
in-memory path's (tests/analysis/test_streaming.py: 1e-9 relative).

Post-stratification and raking add the calibration cell c to the cell key
(group × calibration cell × stratum) and w to v: the calibration residual of
response i for group G is z_i = [i∈G]·g_c·v_i·M_G − w_i·b_Gc, again linear
in (v_i, w_i) with coefficients fixed per (group × calibration cell), so the
same moments give it exactly (:func:`_calibrated_se`). ``compare`` and
``rank`` need covariances between groups PSU by PSU and keep the in-memory path.
"""

from __future__ import annotations

from dataclasses import replace
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

    def __init__(self, spec: IndexSpec, blocks: tuple[str, ...], with_weight: bool = False) -> None:
        self.spec, self.blocks, self.with_weight = spec, blocks, with_weight
        # calibration also needs w itself: its residuals subtract w_i·b_c per response
        self.d = len(blocks) * len(spec.criteria) + int(with_weight)
        self.m = np.zeros(0)
        self.mean = np.zeros((0, self.d))
        self.cross = np.zeros((0, self.d, self.d))
        sat = np.zeros(spec.points + 1)
        sat[sorted(spec.satisfied)] = 1.0
        self.lut = {"ws": sat, "wa": (np.arange(spec.points + 1) > 0).astype(float),
                    "wr": np.arange(spec.points + 1, dtype=float)}
        # answers short of p = 100 per criterion: not satisfied; below the top rating
        top = (np.arange(spec.points + 1) == spec.points).astype(float)
        self.short_lut = np.column_stack([self.lut["wa"] - sat, self.lut["wa"] - top]).astype(np.int64)
        self.short = np.zeros((0, len(spec.criteria), 2), dtype=np.int64)

    def grow(self, cells: int) -> None:
        extra = cells - len(self.m)
        if extra > 0:
            self.m = np.concatenate([self.m, np.zeros(extra)])
            self.mean = np.concatenate([self.mean, np.zeros((extra, self.d))])
            self.cross = np.concatenate([self.cross, np.zeros((extra, self.d, self.d))])
            self.short = np.concatenate([self.short, np.zeros((extra, *self.short.shape[1:]), np.int64)])

    def add(self, cell: np.ndarray, codes: list[np.ndarray], weight: np.ndarray) -> None:
        order = np.argsort(cell, kind="stable")
        c = np.column_stack([code[order] for code in codes])  # rows by cell, one byte a rating
        w = weight[order][:, None]
        sorted_cell = cell[order]
        starts = np.flatnonzero(np.r_[True, sorted_cell[1:] != sorted_cell[:-1]])
        stops = np.r_[starts[1:], len(order)]
        self.short[sorted_cell[starts]] += np.add.reduceat(self.short_lut[c], starts, axis=0)
        for a, b in zip(starts, stops, strict=True):
            v = np.hstack([w[a:b] * self.lut[name][c[a:b]] for name in self.blocks]
                          + ([w[a:b]] if self.with_weight else []))
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
                             ci_method: str = "logit", rules=None, margins=()):
    """The :class:`~analysis.estimate.IndexTable` of a file without ``psu``, read in batches.

    ``margins`` (:class:`~analysis.weighting.Margin`) post-stratify or rake the
    weights, as :func:`analysis.weighting.calibrate` does on the whole file
    (a :class:`~analysis.weighting.CalibrationError` if they do not fit).
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
    calib = list(dict.fromkeys(c for margin in margins for c in margin.columns))
    names = [*dict.fromkeys([*by, *calib]), "stratum"]
    text = [c for c in names if c in header]
    cells, moments = _Cells(spec, len(names)), _Moments(spec, blocks, with_weight=bool(margins))
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
                     blocks, rows, ci_level, ci_method, rules, margins, calib)


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
              ci_method, rules, margins=(), calib=()):
    table = cells.table(names)
    pseudo = np.arange(len(order))  # each (group × calibration cell × stratum) cell a pseudo-PSU
    table["psu"] = CodedColumn(codes=pseudo, labels=pseudo)
    small = totals_from_table(table, spec, by=by, calibration=list(calib))
    # small's PSU codes number the pseudo-PSUs by stratum label, then by row (its nested
    # ordering): the table row of each of small's cells from the same sort
    take = order[np.lexsort((np.arange(len(order)), table["stratum"].codes))[small.cell_psu]]
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
    lonely_g = np.bincount(g, weights=lonely, minlength=small.n_groups) > 0
    short_g = np.zeros((small.n_groups, *moments.short.shape[1:]), dtype=np.int64)
    np.add.at(short_g, g, moments.short[take])
    cal = None
    if margins:
        from .weighting import calibrate

        cal = calibrate(small, list(margins))
        calibrated = cal.apply(small)
        parts = []
        for measure in measures:
            lin = _exact_top(linearise(calibrated, measure), short_g, measure, spec, omega)
            se = _calibrated_se(spec, measure, blocks, small, calibrated, cal, lin.u, moments,
                                take, h, n_strata, omega)
            parts.append((lin, se, lonely_g))
        measures = ()
    else:
        parts = []
    for measure in measures:
        lin = _exact_top(linearise(small, measure), short_g, measure, spec, omega)
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
        parts.append((lin, se, lonely_g))
    # responses minus strata with a response in the group (a stratum may hold several cells)
    group_strata = np.unique(g.astype(np.int64) * n_strata + h) // n_strata
    df_g = (np.bincount(g, weights=m, minlength=small.n_groups)
            - np.bincount(group_strata, minlength=small.n_groups)).astype(np.int64)
    design = SimpleNamespace(spec=spec, by=small.by, n_groups=small.n_groups, n_strata=n_strata,
                             n_psu=rows, stratum_fpc=None, group_key=small.group_key)
    return _assemble(design, parts, df_g, ci_level, ci_method, rules, cal)


def _exact_top(lin, short_g, measure: str, spec: IndexSpec, omega: np.ndarray):
    """The estimates of a group's statistics no answer of which falls short: exactly 1.

    Y = X then, but a cell's sums take the rating categories in another order
    than the answered ones (and w·r − w is not w·(r − 1)): the last bit would
    lose the p = 100 of the in-memory path, whose cells are single responses.
    """
    k = len(spec.criteria)
    short = short_g[:, :, 0 if measure == "satisfied" else 1]
    element_of = np.repeat(np.arange(len(spec.elements)), [len(e.criteria) for e in spec.elements])
    per_element = np.zeros((len(short), len(spec.elements)), dtype=np.int64)
    np.add.at(per_element.T, element_of, short.T)
    full = np.hstack([short, per_element]) == 0
    estimate = lin.estimate.copy()
    body = estimate[:, :-1]
    body[full & np.isfinite(body)] = 1.0
    used = omega > 0
    estimate[:, -1] = body[:, k:][:, used] @ omega[used]
    return replace(lin, estimate=estimate)


#: Values (groups × parts × statistics) of the dense arrays of one step of groups.
GROUP_VALUES = 1 << 21


def _calibrated_se(spec, measure, blocks, small, calibrated, cal, u, moments, take, h, n_strata,
                   omega) -> np.ndarray:
    """Standard errors with the calibration residuals of :meth:`Calibration.variance`.

    For group G a response i in calibration cell c and stratum h has
    z_i = [i∈G]·g_c·v_i·M_G − w_i·b_Gc, b_Gc = g_c·m_c'β_G (β_G from cell
    sums, as the in-memory path). So z is linear in x_i = (v_i, w_i) with
    coefficients fixed per (group × calibration cell): G's own responses of
    part p = (c, h) are one piece (moments of x), the other groups' responses
    of p another (moments of w: p's pooled moments less G's), and the
    stratum's sum of squares is the pieces' spreads plus their means' spread.
    Groups go in steps of :data:`GROUP_VALUES` values: b is dense in (group ×
    calibration cell) when raking.
    """
    from .variance import group_sum as gsum

    g, cc, n_groups = small.cell_group, small.cell_calib, small.n_groups
    gf = cal.factor
    n_calib = len(gf)
    y, x = _block_yx(calibrated, measure, slice(None))
    yg, xg = gsum(y, g, n_groups), gsum(x, g, n_groups)
    has = xg > 0
    ratio = np.where(has, np.divide(yg, xg, out=np.zeros_like(yg), where=has), 0.0)
    coef = _coefficients(spec, measure, blocks, ratio, np.where(has, xg, 1.0), omega)
    n_stats = coef.shape[2]
    # β_G = A⁻¹ Σ_{cells of G} m_c u/g_c with A = Σ m_c m_c' w (weights before calibration)
    import scipy.sparse as sp

    design = np.zeros((n_calib, cal.n_levels))
    design[np.arange(n_calib)[:, None], cal.levels] = 1.0
    w_calib = np.bincount(cc, weights=small.w, minlength=n_calib)
    a_inv = np.linalg.pinv(design.T @ (w_calib[:, None] * design))
    n_margins = cal.levels.shape[1]
    # parts p = (calibration cell × stratum) and their moments of w over every group
    p_uniq, p_of = np.unique(cc.astype(np.int64) * n_strata + h, return_inverse=True)
    c_of_p, h_of_p = p_uniq // n_strata, p_uniq % n_strata
    n_p = len(p_uniq)
    m, mean, cross = moments.m[take], moments.mean[take], moments.cross[take]
    m_p = np.bincount(p_of, weights=m, minlength=n_p)
    sum_p = np.bincount(p_of, weights=m * mean[:, -1], minlength=n_p)
    w_p = sum_p / np.maximum(m_p, 1.0)
    m2_p = np.bincount(p_of, weights=cross[:, -1, -1] + m * (mean[:, -1] - w_p[p_of]) ** 2,
                       minlength=n_p)
    n_h = np.bincount(h_of_p, weights=m_p, minlength=n_strata)
    scale_p = np.where(n_h == 1, 1.0, n_h / np.maximum(n_h - 1, 1.0))[h_of_p]
    in_h = np.zeros((n_p, n_strata))
    in_h[np.arange(n_p), h_of_p] = 1.0
    limit = 8 * moments.d * np.finfo(float).eps
    var = np.zeros((n_groups, n_stats))
    by_group = np.argsort(g, kind="stable")
    first = np.searchsorted(g[by_group], np.arange(n_groups + 1))
    step = max(1, GROUP_VALUES // (max(n_p, n_calib) * n_stats))
    for g0 in range(0, n_groups, step):
        g1 = min(n_groups, g0 + step)
        sel = by_group[first[g0]:first[g1]]
        gl = g[sel] - g0
        # Σ m_c u/g_c per level and (group, statistic): sparse, a group's cells are few
        cols = (gl[:, None] * n_stats + np.arange(n_stats)).ravel()
        sums = sp.csr_matrix((np.repeat((u[sel] / gf[cc[sel]][:, None]).ravel(), n_margins),
                              (np.repeat(cols, n_margins),
                               np.tile(cal.levels[cc[sel]], (1, n_stats)).ravel())),
                             shape=((g1 - g0) * n_stats, cal.n_levels))
        beta = np.asarray(sums @ a_inv).reshape(g1 - g0, n_stats, cal.n_levels)  # A symmetric
        b = gf[None, :, None] * beta[:, :, cal.levels].sum(axis=3).transpose(0, 2, 1)
        gm, gw, gm2 = (np.zeros((g1 - g0, n_p)) for _ in range(3))
        gz, gss = np.zeros((g1 - g0, n_p, n_stats)), np.zeros((g1 - g0, n_p, n_stats))
        gm[gl, p_of[sel]], gw[gl, p_of[sel]], gm2[gl, p_of[sel]] = m[sel], mean[sel, -1], \
            cross[sel, -1, -1]
        # G's own piece of each part: a'Ca and the mean of z from the x moments, a few cells
        # at a time (a is cells × d × statistics)
        rows = max(1, GROUP_VALUES // (moments.d * n_stats))
        for r0 in range(0, len(sel), rows):
            cells_r, gl_r = sel[r0:r0 + rows], gl[r0:r0 + rows]
            a = np.concatenate([coef[g[cells_r]] * gf[cc[cells_r]][:, None, None],
                                -b[gl_r, cc[cells_r]][:, None, :]], axis=1)
            spread = (a * (cross[cells_r] @ a)).sum(axis=1)
            abs_a = np.abs(a)
            spread[spread <= limit * (abs_a * (np.abs(cross[cells_r]) @ abs_a)).sum(axis=1)] = 0.0
            gss[gl_r, p_of[cells_r]] = spread
            gz[gl_r, p_of[cells_r]] = np.einsum("cd,cds->cs", mean[cells_r], a)
        # the other groups' piece: p's pooled moments of w less G's
        mr = m_p - gm
        wr = np.where(mr > 0, (sum_p - gm * gw) / np.maximum(mr, 1.0), 0.0)
        m2r = np.where(mr > 0, np.maximum(m2_p - gm2 - gm * (gw - w_p) ** 2 - mr * (wr - w_p) ** 2,
                                          0.0), 0.0)
        bp = b[:, c_of_p, :]
        zr, ssr = -wr[..., None] * bp, m2r[..., None] * bp * bp
        totals_h = np.moveaxis(np.moveaxis(gm[..., None] * gz + mr[..., None] * zr, 1, 2) @ in_h,
                               2, 1)
        zbar = np.where((n_h > 1)[None, :, None],
                        totals_h / np.maximum(n_h, 1.0)[None, :, None], 0.0)[:, h_of_p, :]
        ss = gss + gm[..., None] * (gz - zbar) ** 2 + ssr + mr[..., None] * (zr - zbar) ** 2
        var[g0:g1] = np.einsum("gps,p->gs", ss, scale_p)
    se = np.sqrt(np.maximum(var, 0.0))
    se[se < SE_ZERO] = 0.0
    return se


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
    calib = [c for margin in options.get("margins", ()) for c in margin.columns]
    if "psu" in header or {"stratum", "weight", *spec.criteria} & {*by, *calib}:
        return None
    _check_header(path, header, spec, by, calib)
    return stream_singleton_indices(path, spec, header=header, by=by, **options)
