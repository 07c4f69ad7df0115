"""Criterion, element (pooled) and overall indices with design-based standard errors.

:func:`estimate_indices` is the one estimator behind the CLI and the web
reports: it takes :class:`analysis.totals.PsuTotals` (from rows or from an
aggregate table) and returns an :class:`IndexTable`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import AnalysisError
from .intervals import effective_n, flags_from_masks, interval_bounds
from .reporting import ReportingRules, rule_masks
from .totals import PsuTotals
from .variance import BLOCK, domain_variance, group_sum, unique_inverse

__all__ = ["MEASURES", "IndexTable", "Linearised", "estimate_indices", "linearise",
           "group_df", "variance_of"]

MEASURES = ("satisfied", "mean-score")
#: Standard errors (proportion scale) below this are rounding noise and reported as 0.
SE_ZERO = 1e-12


@dataclass(frozen=True)
class Linearised:
    """Ratio estimates per group and their influence values per cell.

    Statistics (columns) are the criteria, then the elements, then OVERALL.
    ``estimate`` is on the 0..1 scale, NaN where a denominator is zero.
    """

    measure: str
    levels: tuple[str, ...]
    codes: tuple[str, ...]
    estimate: np.ndarray
    u: np.ndarray
    n: np.ndarray


def linearise(totals: PsuTotals, measure: str = "satisfied") -> Linearised:
    """Estimates R = Y/X per group and cell totals of z = (y − R·x)/X.

    Parameters
    ----------
    totals : PsuTotals
    measure : {'satisfied', 'mean-score'}

    Returns
    -------
    Linearised

    Notes
    -----
    Criterion k: y = s_k (or (r_k − 1)/(points − 1)), x = a_k. Element E
    (pooled): y = Σ_{k∈E} y_k, x = Σ_{k∈E} a_k. Overall: P = Σ_E ω_E P_E /
    Σ_E ω_E, whose influence values are z = Σ_E ω_E z_E / Σ_E ω_E. Since
    z is linear in y and x, its PSU totals follow from the PSU totals of y
    and x, which is why aggregates suffice.

    References
    ----------
    Woodruff, R. S. (1971). A simple method for approximating the variance
    of a complicated estimate. *JASA* 66, 411–414.
    """
    spec = totals.spec
    g, n_groups, k = totals.cell_group, totals.n_groups, len(spec.criteria)
    n_stats = k + len(spec.elements)
    # two passes over row blocks keep the temporaries small: with one PSU per
    # response there is a cell per response
    yg, xg = np.zeros((n_groups, n_stats)), np.zeros((n_groups, n_stats))
    for rows in _blocks(len(g)):
        y, x = _block_yx(totals, measure, rows)
        yg += group_sum(y, g[rows], n_groups)
        xg += group_sum(x, g[rows], n_groups)
    has = xg > 0
    ratio = np.divide(yg, xg, out=np.full(yg.shape, np.nan), where=has)
    safe_r = np.where(has, ratio, 0.0)
    safe_x = np.where(has, xg, 1.0)
    omega = np.array([e.weight for e in spec.elements]) / spec.total_weight
    u = np.empty((len(g), n_stats + 1))
    for rows in _blocks(len(g)):
        y, x = _block_yx(totals, measure, rows)
        gb = g[rows]
        body = (y - safe_r[gb] * x) / safe_x[gb]
        u[rows, :n_stats] = body
        u[rows, n_stats] = body[:, k:] @ omega
    used = omega > 0
    overall = ratio[:, k:][:, used] @ omega[used]
    n_cells = [totals.n_answered, totals.n_element, totals.n_any[:, None]]
    n = np.hstack([group_sum(part, g, n_groups) for part in n_cells])
    codes = (*spec.criteria, *(e.code for e in spec.elements), "OVERALL")
    levels = ("criterion",) * k + ("element",) * len(spec.elements) + ("overall",)
    return Linearised(
        measure=measure, levels=levels, codes=codes,
        estimate=np.column_stack([ratio, overall]),
        u=u,
        n=np.rint(n).astype(np.int64),
    )


def _blocks(n: int):
    """Row slices of at most BLOCK rows."""
    return [slice(start, start + BLOCK) for start in range(0, n, BLOCK)]


def _block_yx(totals: PsuTotals, measure: str, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """Numerators y and denominators x of every criterion and element for some cells."""
    wa = totals.wa[rows]
    if measure == "satisfied":
        y = totals.ws[rows]
    elif measure == "mean-score":
        y = (totals.wr[rows] - wa) / (totals.spec.points - 1)
    else:
        raise AnalysisError(f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}")
    spec = totals.spec
    return (np.hstack([y, _element_sums(y, spec)]), np.hstack([wa, _element_sums(wa, spec)]))


def _element_sums(values: np.ndarray, spec) -> np.ndarray:
    """Σ over each element's criteria (criteria columns are element by element)."""
    out = np.empty((len(values), len(spec.elements)))
    start = 0
    for j, e in enumerate(spec.elements):
        out[:, j] = values[:, start:start + len(e.criteria)].sum(axis=1)
        start += len(e.criteria)
    return out


def group_df(totals: PsuTotals) -> np.ndarray:
    """Degrees of freedom per group: PSUs with a domain response minus such strata."""
    n_psu, n_strata = max(totals.n_psu, 1), max(totals.n_strata, 1)
    g = totals.cell_group.astype(np.int64)
    gp = unique_inverse(g * n_psu + totals.cell_psu)[0]
    gh = unique_inverse(g * n_strata + totals.psu_stratum[totals.cell_psu])[0]
    return (np.bincount(gp // n_psu, minlength=totals.n_groups)
            - np.bincount(gh // n_strata, minlength=totals.n_groups))


def variance_of(u: np.ndarray, totals: PsuTotals, calibration=None, cell_group=None,
                n_groups: int | None = None):
    """Design variance of cell influence values ``u``, with calibration if given."""
    cg = totals.cell_group if cell_group is None else cell_group
    ng = totals.n_groups if n_groups is None else n_groups
    if calibration is not None:
        return calibration.variance(u, totals, cg, ng)
    return domain_variance(u, cg, totals.cell_psu, totals.psu_stratum, ng, totals.stratum_fpc)


@dataclass(frozen=True)
class IndexTable:
    """Index estimates for every group × measure × statistic (percent points).

    One entry per record in the arrays; ``records()`` gives FORMATS.md §4
    JSON records (NaN as None).
    """

    by: tuple[str, ...]
    keys: tuple[dict, ...]
    group: np.ndarray
    measure: tuple[str, ...]
    level: tuple[str, ...]
    code: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n: np.ndarray
    df: np.ndarray
    n_eff: np.ndarray
    deff: np.ndarray
    cv: np.ndarray
    flags: tuple[tuple[str, ...], ...]
    suppressed: np.ndarray
    meta: dict = field(default_factory=dict)

    def records(self) -> list[dict]:
        """JSON-ready records in FORMATS.md §4 shape, plus the extension keys."""
        nums = {k: _nums(getattr(self, k)) for k in
                ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff", "cv")}
        rows = zip(self.group.tolist(), self.level, self.code, self.measure, nums["estimate"],
                   nums["se"], nums["ci_low"], nums["ci_high"], self.n.tolist(),
                   self.df.tolist(), nums["n_eff"], nums["deff"], nums["cv"], self.flags,
                   self.suppressed.tolist(), strict=True)
        return [{"by": self.keys[g], "level": lv, "code": c, "measure": m, "estimate": e,
                 "se": se, "ci_low": lo, "ci_high": hi, "n": n, "df": df, "n_eff": ne,
                 "deff": de, "cv": cv, "flags": list(f), "suppressed": sup}
                for g, lv, c, m, e, se, lo, hi, n, df, ne, de, cv, f, sup in rows]

    def results_json(self) -> str:
        """``records()`` encoded as a JSON array, byte for byte ``json.dumps(self.records())``.

        Arrow's kernels format and join the records when pyarrow is installed
        (:mod:`analysis.json_arrow`, 0.05 s for 31,000 records); otherwise
        :meth:`results_json_python` does, several times faster than ``json.dumps``.
        """
        return b"".join(self.results_json_chunks()).decode("utf-8")

    def results_json_chunks(self) -> list:
        """:meth:`results_json` in UTF-8, as pieces (bytes or memoryview) to write in order."""
        from .json_arrow import results_json_chunks

        chunks = results_json_chunks(self)
        return chunks if chunks is not None else [self.results_json_python().encode("utf-8")]

    def results_json_python(self) -> str:
        """:meth:`results_json` in Python (0.2 s for 31,000 records)."""
        keys = [json.dumps(k, ensure_ascii=False) for k in self.keys]
        text = {v: json.dumps(v, ensure_ascii=False) for v in {*self.level, *self.code,
                                                               *self.measure}}
        nums = {k: _json_nums(getattr(self, k)) for k in
                ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff", "cv")}
        flags = {f: json.dumps(list(f)) for f in set(self.flags)}
        rows = zip(self.group.tolist(), self.level, self.code, self.measure, nums["estimate"],
                   nums["se"], nums["ci_low"], nums["ci_high"], self.n.tolist(),
                   self.df.tolist(), nums["n_eff"], nums["deff"], nums["cv"], self.flags,
                   self.suppressed.tolist(), strict=True)
        out = [
            f'{{"by": {keys[g]}, "level": {text[lv]}, "code": {text[c]}, "measure": {text[m]}, '
            f'"estimate": {e}, "se": {se}, "ci_low": {lo}, "ci_high": {hi}, "n": {n}, '
            f'"df": {df}, "n_eff": {ne}, "deff": {de}, "cv": {cv}, '
            f'"flags": {flags[f]}, "suppressed": {"true" if sup else "false"}}}'
            for g, lv, c, m, e, se, lo, hi, n, df, ne, de, cv, f, sup in rows]
        return "[" + ", ".join(out) + "]"


def _json_nums(values: np.ndarray) -> list[str]:
    """JSON texts of floats: repr (shortest round-trip, as json does), null if not finite."""
    values = np.asarray(values, dtype=float)
    out = list(map(repr, values.tolist()))
    for i in np.flatnonzero(~np.isfinite(values)).tolist():  # few: fix them by position
        out[i] = "null"
    return out


def _nums(values: np.ndarray) -> list:
    """Floats as a list, None where not finite (JSON has no NaN or Infinity)."""
    out = np.asarray(values, dtype=float).tolist()
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        out[i] = None
    return out


def _measures(measure: str) -> tuple[str, ...]:
    if measure == "both":
        return MEASURES
    if measure not in MEASURES:
        raise AnalysisError(f"unknown measure {measure!r}; use satisfied, mean-score or both")
    return (measure,)


def estimate_indices(
    totals: PsuTotals,
    *,
    measure: str = "satisfied",
    ci_level: float = 0.95,
    ci_method: str = "logit",
    calibration=None,
    rules: ReportingRules | None = None,
) -> IndexTable:
    """Criterion, element and overall indices per group, with se, df and intervals.

    Parameters
    ----------
    totals : PsuTotals
        Cell sums, from :func:`~analysis.totals.totals_from_rows` or
        :func:`~analysis.totals.totals_from_table` (already calibrated if
        ``calibration`` is given).
    measure : {'satisfied', 'mean-score', 'both'}
    ci_level : float
    ci_method : {'logit', 'wald', 'wilson', 'korn-graubard'}
    calibration : analysis.weighting.Calibration, optional
        Post-stratification or raking applied to ``totals``; standard
        errors then use the calibration residuals.
    rules : ReportingRules, optional
        Minimum n / maximum CV rules (defaults: n ≥ 30, CV ≤ 0.3, flag only).

    Returns
    -------
    IndexTable

    Notes
    -----
    P = 100·Y/X with Y, X weighted sums over the domain (FORMATS.md §3);
    v(P) = 100² Σ_h n_h/(n_h − 1) Σ_i (z_hi − z̄_h)² over all PSUs of the
    design; df = #PSUs − #strata with a domain response; n_eff = p(1 − p)/se²
    and deff = n/n_eff (Kish 1965), p = P/100.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley.
    Lumley, T. (2010). *Complex Surveys*, Wiley, ch. 2–3 and 7.
    """
    rules = rules or ReportingRules()
    df_g = group_df(totals)
    parts = []
    for m in _measures(measure):
        lin = linearise(totals, m)
        dv = variance_of(lin.u, totals, calibration)
        se = np.sqrt(np.maximum(dv.var, 0.0))
        # an exactly zero variance leaves rounding noise of ~1e-16; no real design gets near
        se[se < SE_ZERO] = 0.0
        parts.append((replace(lin, u=np.empty((0, 0))), se, dv.lonely))  # free u
    return _assemble(totals, parts, df_g, ci_level, ci_method, rules, calibration)


def _assemble(totals, parts, df_g, ci_level, ci_method, rules, calibration) -> IndexTable:
    n_stats, n_groups = len(parts[0][0].codes), totals.n_groups
    # records run group by group, then measure by measure, then statistic by statistic
    meas = [lin.measure for lin, _, _ in parts for _ in range(n_stats)] * n_groups
    level = [v for lin, _, _ in parts for v in lin.levels] * n_groups
    code = [v for lin, _, _ in parts for v in lin.codes] * n_groups
    group = np.repeat(np.arange(n_groups, dtype=np.int64), len(parts) * n_stats)
    p = np.concatenate([lin.estimate for lin, _, _ in parts], axis=1).ravel()
    se = np.concatenate([s for _, s, _ in parts], axis=1).ravel()
    n = np.concatenate([lin.n for lin, _, _ in parts], axis=1).ravel()
    lonely = np.repeat(np.stack([np.asarray(lon, dtype=bool) for _, _, lon in parts], axis=1),
                       n_stats)
    finite = np.isfinite(p)
    se = np.where(finite, se, np.nan)
    df = df_g[group]
    low, high, masks = interval_bounds(p, se, df, n, ci_level, ci_method)
    n_eff = effective_n(p, se)
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = n / n_eff
        cv = se / p
    rule = rule_masks(rules, n, cv)
    suppressed = rule[0][1] | rule[1][1]
    flags = flags_from_masks([*masks, ("empty", ~finite), ("lonely-psu", lonely & finite), *rule],
                             p.size)
    if rules.suppress:
        p, se = np.where(suppressed, np.nan, p), np.where(suppressed, np.nan, se)
        low[suppressed] = np.nan
        high[suppressed] = np.nan
    meta = {"questionnaire": totals.spec.code, "ci_level": ci_level, "ci_method": ci_method,
            "rules": rules.as_dict(),
            "variance": "Taylor linearisation; PSUs with replacement within strata; domains "
                        "over the whole design",
            "lonely_psu": "adjust: a single-PSU stratum contributes its PSU total squared "
                          "(R survey.lonely.psu='adjust'); records flagged lonely-psu",
            "df": "PSUs minus strata with a response in the group",
            "design": {"strata": totals.n_strata, "psus": totals.n_psu}}
    if totals.stratum_fpc is not None:
        meta["variance"] += "; strata drawn without replacement: each stratum's term times 1 − n_h/N_h"
    if calibration is not None:
        meta["calibration"] = calibration.report()
    keys = tuple(totals.group_key(g) for g in range(totals.n_groups))
    return IndexTable(
        by=totals.by, keys=keys, group=group, measure=tuple(meas), level=tuple(level),
        code=tuple(code), estimate=100 * p, se=100 * se, ci_low=100 * low,
        ci_high=100 * high, n=n, df=df, n_eff=n_eff, deff=deff, cv=cv,
        flags=tuple(flags), suppressed=suppressed, meta=meta,
    )
