"""Design-based proportions of indicators: shares of respondents, with the indices' rules.

Every question that is not an index criterion is reported as a proportion: the
overall-satisfaction item and each element's "in general" item (share of
satisfied ratings among those who answered), each option of a single- or
multi-choice question (share of respondents choosing it among those who
answered the question; options of a multi-choice question need not sum to
100), a channel or the verified share (among all responses).

Each proportion is a ratio R = Y/X of weighted sums over a domain, y_i the
indicator and x_i = 1 when response i answered. It is linearised, estimated
and reported exactly like an index criterion (METHODOLOGY.md §3–§8):

- z_i = (y_i − R x_i)/X inside the domain, 0 outside; its variance over the
  whole design's PSUs (:func:`analysis.variance.domain_variance`, with the
  single-PSU stratum rule of R's ``survey.lonely.psu = "adjust"``);
- df = PSUs minus strata with a response of the group (the group's df, the
  same for every proportion of the group, as for the indices);
- the logit interval by default, which equals R's ``svyciprop(method =
  "logit", df = df)``; ``korn-graubard`` equals ``svyciprop(method = "beta")``;
- the reporting rules (n ≥ 30, CV ≤ 0.3) flag and optionally suppress.

The estimate of R = Y/X is R's ``svymean`` of the indicator on the subset of
answering respondents (or ``svyratio(~y, ~x)`` on the domain): both are the
same domain ratio with the same linearised variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .intervals import effective_n, flags_from_masks, interval_bounds
from .reporting import ReportingRules, rule_masks
from .variance import domain_variance, group_sum, unique_inverse

__all__ = ["ProportionCells", "estimate_proportions"]

#: Standard errors (proportion scale) below this are rounding noise (as analysis.estimate).
SE_ZERO = 1e-12


@dataclass(frozen=True)
class ProportionCells:
    """Weighted sums per cell (a response, or a group × PSU sum of responses).

    Parameters
    ----------
    y, x : ndarray, shape (n_cells, n_stats)
        Weighted numerators Σ w·y and denominators Σ w·x of each statistic.
    n : ndarray, shape (n_cells, n_stats)
        Unweighted denominators (responses answering), for ``n`` and the rules.
    group : ndarray of int, shape (n_cells,)
        Domain of each cell, 0..n_groups−1.
    psu : ndarray of int, shape (n_cells,)
        Global PSU code (0..n_psu−1) of each cell.
    psu_stratum : ndarray of int, shape (n_psu,)
        Stratum of every PSU of the whole design (codes 0..n_strata−1).
    n_groups : int
    codes : tuple of str
        Name of each statistic (column).
    """

    y: np.ndarray
    x: np.ndarray
    n: np.ndarray
    group: np.ndarray
    psu: np.ndarray
    psu_stratum: np.ndarray
    n_groups: int
    codes: tuple[str, ...]

    @classmethod
    def from_rows(cls, stratum, psu, weight, group, y, x, codes) -> ProportionCells:
        """Cells from one row per response: labels for stratum, PSU (within stratum) and group.

        ``y`` and ``x`` are 0/1 indicators (n_rows × n_stats); group codes follow
        the sorted group labels.
        """
        stratum_codes, s = np.unique(np.asarray(stratum, dtype=str), return_inverse=True)
        pairs = np.char.add(np.char.add(np.asarray(stratum, dtype=str), "\x1f"), np.asarray(psu, dtype=str))
        psu_codes, p = np.unique(pairs, return_inverse=True)
        psu_stratum = np.zeros(len(psu_codes), dtype=np.int64)
        psu_stratum[p] = s
        _, g = np.unique(np.asarray(group, dtype=str), return_inverse=True)
        w = np.asarray(weight, dtype=float)[:, None]
        y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
        return cls(w * y, w * x, x, g.astype(np.int64), p.astype(np.int64), psu_stratum,
                   int(g.max()) + 1 if len(g) else 0, tuple(codes))


def group_degrees(cells: ProportionCells) -> np.ndarray:
    """df per group: PSUs with a cell of the group minus strata with a cell of the group."""
    n_psu = max(len(cells.psu_stratum), 1)
    n_strata = int(cells.psu_stratum.max()) + 1 if len(cells.psu_stratum) else 1
    g = cells.group.astype(np.int64)
    gp = unique_inverse(g * n_psu + cells.psu)[0]
    gh = unique_inverse(g * n_strata + cells.psu_stratum[cells.psu])[0]
    return (np.bincount(gp // n_psu, minlength=cells.n_groups)
            - np.bincount(gh // n_strata, minlength=cells.n_groups))


def estimate_proportions(cells: ProportionCells, *, ci_level: float = 0.95, ci_method: str = "logit",
                         rules: ReportingRules | None = None) -> list[dict]:
    """Every statistic of every group as a record on the percent scale.

    Returns
    -------
    list of dict
        One record per group × statistic (group by group), with ``group``
        (its code), ``code``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``n``, ``df``, ``n_eff``, ``deff``, ``cv``, ``flags``, ``suppressed``
        as the indices' records (NaN as None). ``n`` counts the responses
        answering (the denominator's responses).
    """
    rules = rules or ReportingRules()
    ng, k = cells.n_groups, len(cells.codes)
    if ng == 0 or len(cells.group) == 0:
        return []
    yg = group_sum(cells.y, cells.group, ng)
    xg = group_sum(cells.x, cells.group, ng)
    has = xg > 0
    ratio = np.divide(yg, xg, out=np.full(yg.shape, np.nan), where=has)
    safe_r, safe_x = np.where(has, ratio, 0.0), np.where(has, xg, 1.0)
    u = (cells.y - safe_r[cells.group] * cells.x) / safe_x[cells.group]
    dv = domain_variance(u, cells.group, cells.psu, cells.psu_stratum, ng)
    se = np.sqrt(np.maximum(dv.var, 0.0))
    se[se < SE_ZERO] = 0.0
    n = np.rint(group_sum(cells.n, cells.group, ng)).astype(np.int64)
    p, se = ratio.ravel(), np.where(has, se, np.nan).ravel()
    n = n.ravel()
    group = np.repeat(np.arange(ng), k)
    df = group_degrees(cells)[group]
    finite = np.isfinite(p)
    low, high, masks = interval_bounds(p, se, df, n, ci_level, ci_method)
    n_eff = effective_n(p, se)
    with np.errstate(divide="ignore", invalid="ignore"):
        deff, cv = n / n_eff, se / p
    rule = rule_masks(rules, n, cv)
    suppressed = rule[0][1] | rule[1][1]
    lonely = dv.lonely[group] & finite
    flags = flags_from_masks([*masks, ("empty", ~finite), ("lonely-psu", lonely), *rule], p.size)
    if rules.suppress:
        for array in (p, se, low, high):
            array[suppressed] = np.nan
    out = []
    for i in range(p.size):
        out.append({"group": int(group[i]), "code": cells.codes[i % k], "estimate": _pct(p[i]),
                    "se": _pct(se[i]), "ci_low": _pct(low[i]), "ci_high": _pct(high[i]),
                    "n": int(n[i]), "df": int(df[i]), "n_eff": _num(n_eff[i]), "deff": _num(deff[i]),
                    "cv": _num(cv[i]), "flags": list(flags[i]), "suppressed": bool(suppressed[i])})
    return out


def _num(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _pct(value) -> float | None:
    value = _num(value)
    return None if value is None else 100.0 * value
