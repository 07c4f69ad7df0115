"""Comparisons between domains: differences, domain versus whole, trends and rankings.

Domains share PSUs (an agency's respondents and a period's respondents sit
in the same clusters), so a difference is linearised jointly: its
influence values are z_A − z_B per PSU, and its variance uses the same
stratified with-replacement formula as the indices. That covariance is
what a naive √(se_A² + se_B²) ignores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import AnalysisError
from .estimate import group_df, linearise
from .totals import PsuTotals, _replace
from .variance import dense_variance, scatter_psu

__all__ = ["Difference", "compare_groups", "compare_to_all", "rank_groups", "rank_intervals", "Ranking",
           "psu_influence", "trend"]


def psu_influence(totals: PsuTotals, u: np.ndarray, groups: np.ndarray,
                  calibration=None) -> np.ndarray:
    """Dense PSU totals of influence values for ``groups``: shape (n_psu, len(groups), S).

    With a calibration the totals are the calibration residuals.
    """
    groups = np.asarray(groups, dtype=np.int64)
    z = scatter_psu(u, totals.cell_group, totals.cell_psu, totals.n_psu, groups)
    if calibration is not None:
        z -= calibration.correction(u, totals, totals.cell_group, groups)
    return z.reshape(totals.n_psu, len(groups), u.shape[1])


def pooled(totals: PsuTotals) -> PsuTotals:
    """The same cells as one group (the whole population)."""
    return _replace(totals, by=(), group_labels=(),
                    cell_group=np.zeros_like(totals.cell_group))


@dataclass(frozen=True)
class Difference:
    """Differences (percent points) with design-based se, t-interval and p-value.

    Arrays have shape (n_comparisons, n_stats); ``codes``/``levels`` name the
    statistics, ``labels`` the comparisons.
    """

    measure: str
    levels: tuple[str, ...]
    codes: tuple[str, ...]
    labels: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray


def _finish(measure, lin, labels, est, var, df, ci_level) -> Difference:
    from scipy import special

    se = np.sqrt(np.maximum(var, 0.0))
    df = np.broadcast_to(np.asarray(df, float)[:, None], est.shape)
    t = np.where(df >= 1, special.stdtrit(np.maximum(df, 1), 1 - (1 - ci_level) / 2), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = np.where(se > 0, est / se, np.where(est == 0, 0.0, np.inf))
        p = np.where(df >= 1, 2 * special.stdtr(np.maximum(df, 1), -np.abs(tstat)), np.nan)
    return Difference(measure, lin.levels, lin.codes, tuple(labels), 100 * est, 100 * se,
                      np.asarray(df[:, 0]), 100 * (est - t * se), 100 * (est + t * se), p)


def _group_index(totals: PsuTotals, label: str) -> int:
    for g in range(totals.n_groups):
        key = totals.group_key(g)
        text = ",".join("" if v is None else str(v) for v in key.values())
        if text == label:
            return g
    raise AnalysisError(f"no group {label!r} in the data (by {', '.join(totals.by)})")


def _pair_df(totals: PsuTotals, members: list[np.ndarray]) -> np.ndarray:
    """df of a union of groups: PSUs minus strata with a response in any member group."""
    out = []
    for groups in members:
        sel = np.isin(totals.cell_group, groups)
        psus = np.unique(totals.cell_psu[sel])
        out.append(len(psus) - len(np.unique(totals.psu_stratum[psus])))
    return np.array(out, dtype=float)


def compare_groups(totals: PsuTotals, pairs: list[tuple[str, str]], *,
                   measure: str = "satisfied", ci_level: float = 0.95,
                   calibration=None) -> Difference:
    """Differences A − B between pairs of groups (e.g. two agencies or two periods).

    Notes
    -----
    d = P_A − P_B, z_d = z_A − z_B per PSU (both domains of one design),
    v(d) = Σ_h n_h/(n_h − 1) Σ_i (z_d,hi − z̄_d,h)²; the interval is
    d ± t_{df}·se and the p-value two-sided from t_{df}, df = PSUs minus
    strata with a response in A or B.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys*, §2.3 (``svyby`` + ``svycontrast``).
    """
    lin = linearise(totals, measure)
    idx = np.array([[_group_index(totals, a), _group_index(totals, b)] for a, b in pairs])
    z = psu_influence(totals, lin.u, idx.ravel(), calibration)
    zd = z[:, 0::2, :] - z[:, 1::2, :]
    var = dense_variance(zd.reshape(totals.n_psu, -1), totals.psu_stratum, totals.stratum_fpc)
    est = lin.estimate[idx[:, 0]] - lin.estimate[idx[:, 1]]
    df = _pair_df(totals, [row for row in idx])
    labels = [f"{a} - {b}" for a, b in pairs]
    return _finish(measure, lin, labels, est, var.reshape(est.shape), df, ci_level)


def compare_to_all(totals: PsuTotals, *, measure: str = "satisfied", ci_level: float = 0.95,
                   calibration=None, chunk: int = 64) -> Difference:
    """Each group minus the whole population (the domain overlaps the whole).

    Notes
    -----
    d_g = P_g − P with z_d = z_g − z_all per PSU, where z_all linearises the
    whole-population ratio; df = the group's df.
    """
    lin = linearise(totals, measure)
    whole_t = pooled(totals)
    whole = linearise(whole_t, measure)
    z_all = psu_influence(whole_t, whole.u, np.array([0]), calibration)[:, 0, :]
    var = np.empty(lin.estimate.shape)
    for start in range(0, totals.n_groups, chunk):
        groups = np.arange(start, min(totals.n_groups, start + chunk))
        z = psu_influence(totals, lin.u, groups, calibration) - z_all[:, None, :]
        var[groups] = dense_variance(z.reshape(totals.n_psu, -1), totals.psu_stratum,
                                     totals.stratum_fpc).reshape(len(groups), -1)
    est = lin.estimate - whole.estimate[0]
    labels = [",".join(str(v) for v in totals.group_key(g).values()) + " - ALL"
              for g in range(totals.n_groups)]
    return _finish(measure, lin, labels, est, var, group_df(totals), ci_level)


def trend(totals: PsuTotals, *, measure: str = "satisfied", ci_level: float = 0.95,
          calibration=None) -> Difference:
    """Change between consecutive groups (periods, in sorted label order)."""
    labels = [",".join(str(v) for v in totals.group_key(g).values())
              for g in range(totals.n_groups)]
    if len(labels) < 2:
        raise AnalysisError("a trend needs at least two periods")
    pairs = [(labels[i + 1], labels[i]) for i in range(len(labels) - 1)]
    return compare_groups(totals, pairs, measure=measure, ci_level=ci_level,
                          calibration=calibration)


@dataclass(frozen=True)
class Ranking:
    """Ranks (1 = best) with rank intervals, for one statistic."""

    code: str
    measure: str
    groups: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    rank: np.ndarray
    rank_low: np.ndarray
    rank_high: np.ndarray
    versus_all: Difference


def rank_groups(totals: PsuTotals, code: str, rng: np.random.Generator, *,
                measure: str = "satisfied", ci_level: float = 0.95, draws: int = 2000,
                calibration=None, eligible: np.ndarray | None = None) -> Ranking:
    """Rank groups on one statistic with marginal rank intervals.

    Parameters
    ----------
    totals : PsuTotals
    code : str
        Statistic to rank on: a criterion, an element or ``OVERALL``.
    rng : numpy.random.Generator
        Source of the parametric bootstrap draws.
    measure, ci_level, draws, calibration
    eligible : ndarray of bool, optional
        Groups to rank (e.g. those passing the reporting rules); others get
        no rank.

    Notes
    -----
    The joint sampling distribution of the group estimates is approximated
    by N(P̂, Σ̂), Σ̂ the design-based covariance from the PSU totals of the
    influence values (groups share PSUs). Draws P* are ranked (1 = highest);
    the rank interval holds the (α/2, 1 − α/2) quantiles of each group's
    rank over the draws. Whether a group differs from the whole population
    comes from :func:`compare_to_all`.

    References
    ----------
    Goldstein, H. and Spiegelhalter, D. J. (1996). League tables and their
    limitations. *JRSS A* 159, 385–443.
    Hall, P. and Miller, H. (2009). Using the bootstrap to quantify the
    authority of an empirical ranking. *Ann. Statist.* 37, 3929–3959.
    """
    lin = linearise(totals, measure)
    if code not in lin.codes:
        raise AnalysisError(f"unknown statistic {code!r}")
    j = lin.codes.index(code)
    est = lin.estimate[:, j]
    ok = np.isfinite(est) if eligible is None else (np.isfinite(est) & eligible)
    groups = np.flatnonzero(ok)
    if len(groups) == 0:
        raise AnalysisError("no group has an estimate to rank")
    z = psu_influence(totals, lin.u[:, [j]], groups, calibration)[:, :, 0]
    cov = _covariance(z, totals.psu_stratum)
    order, low, high = rank_intervals(est[groups], cov, rng, ci_level=ci_level, draws=draws)
    vs = compare_to_all(totals, measure=measure, ci_level=ci_level, calibration=calibration)
    return Ranking(code, measure, groups, 100 * est[groups], 100 * np.sqrt(np.diag(cov)),
                   order, low, high, vs)


def rank_intervals(est: np.ndarray, cov: np.ndarray, rng: np.random.Generator, *,
                   ci_level: float = 0.95, draws: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ranks (1 = highest) of estimates and their marginal rank intervals from N(est, cov) draws.

    The parametric bootstrap of :func:`rank_groups`, for callers that have the
    estimates and their design-based covariance already.
    """
    vals, vecs = np.linalg.eigh(cov)
    root = vecs * np.sqrt(np.clip(vals, 0, None))
    sims = est + rng.standard_normal((draws, len(est))) @ root.T
    ranks = (-sims).argsort(axis=1).argsort(axis=1) + 1
    alpha = 1 - ci_level
    low = np.quantile(ranks, alpha / 2, axis=0, method="lower")
    high = np.quantile(ranks, 1 - alpha / 2, axis=0, method="higher")
    order = (-est).argsort(kind="stable").argsort() + 1
    return order, low, high


def covariance(z: np.ndarray, psu_stratum: np.ndarray) -> np.ndarray:
    """The design-based covariance of domain totals from their PSU totals of influence values."""
    return _covariance(z, psu_stratum)


def _covariance(z: np.ndarray, psu_stratum: np.ndarray) -> np.ndarray:
    """Σ_h c_h Σ_i (z_hi − z̄_h)(z_hi − z̄_h)' for dense PSU totals (n_psu, k)."""
    n_strata = int(psu_stratum.max()) + 1
    n_h = np.bincount(psu_stratum, minlength=n_strata)
    means = np.zeros((n_strata, z.shape[1]))
    np.add.at(means, psu_stratum, z)
    means /= n_h[:, None]
    means[n_h == 1] = 0.0
    dev = z - means[psu_stratum]
    c = np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1), 1.0)[psu_stratum]
    return dev.T @ (dev * c[:, None])
