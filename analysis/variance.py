"""Design-based variance of linearised statistics under a stratified cluster design.

Given the PSU totals of a linearised variable z (the influence values of an
estimator), the with-replacement variance estimator is

    v = Σ_h c_h Σ_{i=1}^{n_h} (z_hi − z̄_h)²,   c_h = n_h / (n_h − 1),

with n_h the PSUs of stratum h in the *whole* design and z_hi = 0 for PSUs
without domain responses (domain estimation). A stratum with a single PSU
(n_h = 1) contributes z_hi² with c_h = 1: its deviation from the overall
mean of the PSU totals, which is zero for every linearised estimator here
(R ``survey`` 4.x with ``options(survey.lonely.psu = "adjust")``).

A one-stage stratified design drawn without replacement (an official
survey's sample of dossiers) may give a finite population correction per
stratum, ``fpc[h] = 1 − f_h`` with f_h = n_h/N_h, which multiplies the
stratum's contribution (R ``svydesign(..., fpc = ~N_h)``). Without it
nothing is computed differently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Rows per block when a step would otherwise copy a (cells × statistics) array.
BLOCK = 131_072

__all__ = ["DesignVariance", "dense_variance", "domain_variance", "group_sum", "scatter_psu",
           "unique_inverse"]


@dataclass(frozen=True)
class DesignVariance:
    """Variances per group and statistic, and which groups met a lonely PSU."""

    var: np.ndarray
    lonely: np.ndarray


def group_sum(values: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Σ of the rows of ``values`` per code (0..n−1), one ``bincount`` per column."""
    values = np.asarray(values)
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=n)
    if len(codes) > 1 and np.all(codes[1:] >= codes[:-1]):
        # cells come sorted by group: contiguous row sums beat strided column bincounts
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        out = np.zeros((n, values.shape[1]))
        out[codes[starts]] = np.add.reduceat(values, starts, axis=0, dtype=float)
        return out
    out = np.empty((n, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=n)
    return out


def unique_inverse(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` by one stable sort (faster on millions)."""
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    first = np.empty(len(key), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(len(key), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


def _stratum_scale(n_h: np.ndarray) -> np.ndarray:
    """c_h = n_h/(n_h − 1), and 1 for single-PSU strata."""
    n_h = n_h.astype(float)
    return np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1), 1.0)


def domain_variance(
    u: np.ndarray,
    cell_group: np.ndarray,
    cell_psu: np.ndarray,
    psu_stratum: np.ndarray,
    n_groups: int,
    fpc: np.ndarray | None = None,
) -> DesignVariance:
    """Variance of linearised statistics for every domain at once (sparse cells).

    Parameters
    ----------
    u : ndarray, shape (n_cells, n_stats)
        Weighted sums of the linearised variable per cell.
    cell_group, cell_psu : ndarray of int
        Domain and (global) PSU of each cell.
    psu_stratum : ndarray of int
        Stratum of every PSU of the whole design.
    n_groups : int
        Number of domains.
    fpc : ndarray, optional
        1 − f_h per stratum (finite population correction); none when omitted.

    Returns
    -------
    DesignVariance
        ``var`` has shape (n_groups, n_stats).

    Notes
    -----
    With Z̄_gh = Σ_i z_ghi / n_h over the n_h PSUs of stratum h, of which
    m_gh carry domain responses, Σ_i (z_ghi − z̄_gh)² = Σ_{present}
    (z_ghi − z̄_gh)² + (n_h − m_gh) z̄_gh², so only present cells are touched.

    References
    ----------
    Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., §6.
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, §2–3.
    """
    u = np.asarray(u, dtype=float)
    n_psu = len(psu_stratum)
    n_strata = int(psu_stratum.max()) + 1
    n_h = np.bincount(psu_stratum, minlength=n_strata)
    key = cell_group.astype(np.int64) * n_psu + cell_psu
    gp, inv = unique_inverse(key)
    if len(gp) < len(key):  # several cells per (domain, PSU): sum them first
        u, key = group_sum(u, inv, len(gp)), gp
    g = key // n_psu
    gh, inv2 = unique_inverse(g * n_strata + psu_stratum[key % n_psu])
    gh_h = gh % n_strata
    size = n_h[gh_h].astype(float)
    lonely_gh = n_h[gh_h] == 1
    zbar = group_sum(u, inv2, len(gh)) / size[:, None]
    zbar[lonely_gh] = 0.0
    ss = np.zeros_like(zbar)
    # centred squares in row blocks: with one PSU per response u has millions of rows
    for start in range(0, len(u), BLOCK):
        rows = slice(start, start + BLOCK)
        dev = u[rows] - zbar[inv2[rows]]
        dev *= dev
        ss += group_sum(dev, inv2[rows], len(gh))
    present = np.bincount(inv2, minlength=len(gh))
    ss += (size - present)[:, None] * zbar * zbar
    ss *= _stratum_scale(n_h[gh_h])[:, None]
    if fpc is not None:
        ss *= np.asarray(fpc, dtype=float)[gh_h][:, None]
    var = group_sum(ss, gh // n_strata, n_groups)
    lonely = np.bincount(gh // n_strata, weights=lonely_gh, minlength=n_groups) > 0
    return DesignVariance(var=var, lonely=lonely)


def dense_variance(z: np.ndarray, psu_stratum: np.ndarray,
                   fpc: np.ndarray | None = None) -> np.ndarray:
    """Variance from dense PSU totals ``z`` (n_psu, k): one value per column.

    Notes
    -----
    v = Σ_h c_h Σ_i (z_hi − z̄_h)², with z̄_h = 0 for single-PSU strata;
    each stratum's term times ``fpc[h]`` (1 − f_h) when given.
    """
    n_strata = int(psu_stratum.max()) + 1
    n_h = np.bincount(psu_stratum, minlength=n_strata)
    zbar = group_sum(z, psu_stratum, n_strata) / n_h[:, None]
    zbar[n_h == 1] = 0.0
    dev = z - zbar[psu_stratum]
    ss = group_sum(dev * dev, psu_stratum, n_strata)
    scale = _stratum_scale(n_h)
    if fpc is not None:
        scale = scale * np.asarray(fpc, dtype=float)
    return (ss * scale[:, None]).sum(axis=0)


def scatter_psu(u: np.ndarray, cell_group: np.ndarray, cell_psu: np.ndarray, n_psu: int,
                groups: np.ndarray) -> np.ndarray:
    """Dense PSU totals of ``u`` for ``groups``: shape (n_psu, len(groups)·S), zeros elsewhere."""
    groups = np.asarray(groups, dtype=np.int64)
    pos = np.full(int(max(cell_group.max(), groups.max())) + 1, -1)
    pos[groups] = np.arange(len(groups))
    sel = np.flatnonzero(pos[cell_group] >= 0)
    n_stats = u.shape[1]
    cols = (pos[cell_group[sel]][:, None] * n_stats + np.arange(n_stats)).ravel()
    rows = np.repeat(cell_psu[sel], n_stats)
    import scipy.sparse as sp  # only comparisons and calibration need it

    return sp.csr_matrix((u[sel].ravel(), (rows, cols)),
                         shape=(n_psu, len(groups) * n_stats)).toarray()
