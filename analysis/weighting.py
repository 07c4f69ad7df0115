"""Post-stratification and raking of the design weights, with their variance.

Both are calibrations to categorical margins: each calibration cell c (the
cross-classification of the calibration columns) gets a factor g_c so that
the weighted counts match population totals on every margin. One margin
holding all columns is post-stratification (one step); several margins are
raking (iterative proportional fitting).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import AnalysisError
from .totals import PsuTotals
from .variance import DesignVariance, dense_variance, group_sum, scatter_psu

__all__ = ["Calibration", "CalibrationError", "Margin", "calibrate", "poststratify", "rake"]


class CalibrationError(AnalysisError):
    """A population table does not fit the sample, or raking did not converge.

    ``row`` (0-based, into the margin's population table) and ``column``
    locate the offending population cell when there is one.
    """

    def __init__(self, message: str, *, margin: int | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        super().__init__(message)
        self.margin = margin
        self.row = row
        self.column = column


@dataclass(frozen=True)
class Margin:
    """A population margin: labels per column (one entry per population row) and totals."""

    columns: tuple[str, ...]
    labels: tuple[tuple[object, ...], ...]
    totals: np.ndarray

    @classmethod
    def from_table(cls, table: Mapping[str, Sequence], columns: Sequence[str],
                   total: str = "total") -> Margin:
        """Build a margin from columns of a table (e.g. a population CSV)."""
        cols = [np.asarray(table[c], dtype=object) for c in columns]
        labels = tuple(zip(*cols, strict=True)) if cols else ()
        return cls(tuple(columns), labels, np.asarray(table[total], dtype=float))


@dataclass(frozen=True)
class Calibration:
    """A fitted calibration: factors per calibration cell and the design needed for SEs.

    Attributes
    ----------
    method : str
        ``"poststratify"`` or ``"rake"``.
    factor : ndarray
        g_c, the weight factor of each calibration cell.
    levels : ndarray of int, shape (n_calib_cells, n_margins)
        Column (in the stacked indicator matrix) of each cell on each margin.
    n_levels : int
        Columns of the stacked indicator matrix.
    iterations : int
    max_error : float
        Largest |weighted margin total − population total| at the end.
    """

    method: str
    margins: tuple[Margin, ...]
    factor: np.ndarray
    levels: np.ndarray
    n_levels: int
    iterations: int
    max_error: float

    def report(self) -> dict:
        """Convergence report for the output ``meta``."""
        return {"method": self.method, "margins": [list(m.columns) for m in self.margins],
                "iterations": self.iterations, "max_abs_error": self.max_error,
                "converged": True}

    def apply(self, totals: PsuTotals) -> PsuTotals:
        """Totals with calibrated weights w* = g_c·w."""
        return totals.with_weights(self.factor[totals.cell_calib])

    def variance(self, u: np.ndarray, totals: PsuTotals, cell_group: np.ndarray,
                 n_groups: int, chunk_values: int = 4_000_000) -> DesignVariance:
        """Design variance of ``u`` (from calibrated totals) with calibration residuals.

        Notes
        -----
        The influence values are replaced by the calibration residuals
        e_i = w*_i (u_i − m_i'β), β = (Σ w_i m_i m_i')⁻ Σ w_i m_i u_i,
        with m_i the margin indicators and w_i the weights before
        calibration (R ``survey``: ``calibrate``
        linearisation; for one margin this is exactly ``postStratify``'s
        e_i = w*_i (u_i − ū_c), ū_c = Σ_c w* u / N_c). Cells are within
        one calibration cell, so every sum is a cell sum.

        References
        ----------
        Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in
        survey sampling. *JASA* 87, 376–382.
        Lumley, T. (2010). *Complex Surveys*, ch. 7.
        """
        lonely_psu = totals.psus_per_stratum()[totals.psu_stratum[totals.cell_psu]] == 1
        lonely = np.bincount(cell_group, weights=lonely_psu, minlength=n_groups) > 0
        n_stats = u.shape[1]
        step = max(1, chunk_values // max(totals.n_psu * n_stats, 1))
        var = np.zeros((n_groups, n_stats))
        for start in range(0, n_groups, step):
            groups = np.arange(start, min(n_groups, start + step))
            z = scatter_psu(u, cell_group, totals.cell_psu, totals.n_psu, groups)
            z -= self.correction(u, totals, cell_group, groups)
            var[groups] = dense_variance(z, totals.psu_stratum, totals.stratum_fpc).reshape(
                len(groups), n_stats)
        return DesignVariance(var=var, lonely=lonely)

    def correction(self, u: np.ndarray, totals: PsuTotals, cell_group: np.ndarray,
                   groups: np.ndarray) -> np.ndarray:
        """Σ_{cells at PSU} W*·m'β_g for ``groups``: shape (n_psu, len(groups)·S)."""
        import scipy.sparse as sp

        cc = totals.cell_calib
        g = self.factor[cc]
        design = _indicators(self.levels[cc], self.n_levels)
        a_inv = np.linalg.pinv((design.T @ sp.diags(totals.w / g) @ design).toarray())
        q = sp.csr_matrix((totals.w, (totals.cell_psu, np.arange(len(cc)))),
                          shape=(totals.n_psu, len(cc))) @ design
        n_stats = u.shape[1]
        pos = np.full(int(max(cell_group.max(), np.max(groups))) + 1, -1)
        pos[groups] = np.arange(len(groups))
        sel = np.flatnonzero(pos[cell_group] >= 0)
        cols = (pos[cell_group[sel]][:, None] * n_stats + np.arange(n_stats)).ravel()
        b = sp.csr_matrix(((u[sel] / g[sel, None]).ravel(),
                           (np.repeat(np.arange(len(sel)), n_stats), cols)),
                          shape=(len(sel), len(groups) * n_stats))
        beta = a_inv @ (design[sel].T @ b).toarray()
        return np.asarray(q @ beta)


def _indicators(levels: np.ndarray, n_levels: int):
    """Stacked one-hot matrix (cells × levels, scipy.sparse) from level columns per margin."""
    import scipy.sparse as sp

    n, k = levels.shape
    return sp.csr_matrix((np.ones(n * k), (np.repeat(np.arange(n), k), levels.ravel())),
                         shape=(n, n_levels))


def _margin_levels(totals: PsuTotals, margin: Margin, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Population row of every calibration cell on ``margin``, and the population totals."""
    missing = [c for c in margin.columns if c not in totals.calib]
    if missing:
        raise CalibrationError(f"calibration column {missing[0]!r} is not in the data",
                               margin=index, column=missing[0])
    pos = [totals.calib.index(c) for c in margin.columns]
    cell_keys = list(zip(*(totals.calib_labels[i] for i in pos), strict=True))
    pop_keys = [tuple(_norm(v) for v in key) for key in margin.labels]
    lookup = {}
    for row, key in enumerate(pop_keys):
        if key in lookup:
            raise CalibrationError(f"population cell {key} appears twice", margin=index, row=row)
        lookup[key] = row
    rows = np.array([lookup.get(tuple(_norm(v) for v in key), -1) for key in cell_keys])
    if np.any(rows < 0):
        key = cell_keys[int(np.flatnonzero(rows < 0)[0])]
        raise CalibrationError(f"the population table has no row for sample cell {key}",
                               margin=index)
    unused = np.setdiff1d(np.arange(len(pop_keys)), rows)
    if len(unused):
        raise CalibrationError(f"population cell {pop_keys[unused[0]]} has no responses",
                               margin=index, row=int(unused[0]), column=margin.columns[0])
    bad = np.flatnonzero(~(margin.totals > 0))
    if len(bad):
        raise CalibrationError("population total must be > 0", margin=index,
                               row=int(bad[0]), column="total")
    return rows, margin.totals


def _norm(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def calibrate(totals: PsuTotals, margins: Sequence[Margin], *, max_iter: int = 100,
              tol: float = 1e-10) -> Calibration:
    """Fit calibration factors by iterative proportional fitting (raking).

    Parameters
    ----------
    totals : PsuTotals
        Uncalibrated totals whose ``calib`` columns include every margin's columns.
    margins : sequence of Margin
    max_iter : int
        Sweeps over the margins before giving up.
    tol : float
        Convergence when every margin total is within ``tol`` (relative to
        the population size) of its target.

    Returns
    -------
    Calibration

    Raises
    ------
    CalibrationError
        Missing or extra population cells, margins with different sums, or
        no convergence within ``max_iter`` sweeps (the message gives the
        remaining error).

    Notes
    -----
    g_c ← g_c · N_l / Σ_{c'∈l} g_{c'} Ŵ_{c'} for each level l of each margin
    in turn (Deming and Stephan 1940).

    References
    ----------
    Deming, W. E. and Stephan, F. F. (1940). On a least squares adjustment
    of a sampled frequency table when the expected marginal totals are
    known. *Ann. Math. Statist.* 11, 427–444.
    """
    if totals.cell_calib is None or not margins:
        raise CalibrationError("calibration needs totals with calibration columns and margins")
    fitted = [_margin_levels(totals, m, i) for i, m in enumerate(margins)]
    sums = np.array([t.sum() for _, t in fitted])
    if np.any(np.abs(sums - sums[0]) > 1e-9 * sums[0]):
        raise CalibrationError(f"margin totals disagree: {', '.join(f'{s:g}' for s in sums)}")
    w_cell = group_sum(totals.w, totals.cell_calib, len(fitted[0][0]))
    factor = np.ones_like(w_cell)
    err, it = np.inf, 0
    while it < max_iter:
        it += 1
        for rows, target in fitted:
            current = np.bincount(rows, weights=factor * w_cell, minlength=len(target))
            factor *= (target / current)[rows]
        err = max(np.max(np.abs(np.bincount(r, weights=factor * w_cell, minlength=len(t)) - t))
                  for r, t in fitted)
        if err <= tol * sums[0]:
            break
    else:
        raise CalibrationError(f"raking did not converge in {max_iter} sweeps "
                               f"(largest margin error {err:.6g})")
    offsets = np.cumsum([0] + [len(t) for _, t in fitted])
    levels = np.column_stack([rows + off for (rows, _), off in zip(fitted, offsets, strict=False)])
    method = "poststratify" if len(margins) == 1 else "rake"
    return Calibration(method, tuple(margins), factor, levels, int(offsets[-1]), it, float(err))


def poststratify(totals: PsuTotals, population: Mapping[str, Sequence],
                 columns: Sequence[str]) -> Calibration:
    """Post-stratify to a population table with ``columns`` and ``total``.

    Notes
    -----
    w*_i = w_i N_c / N̂_c in post-stratum c; the standard error uses the
    residuals of :meth:`Calibration.variance` (R ``survey::postStratify``).

    References
    ----------
    Holt, D. and Smith, T. M. F. (1979). Post stratification. *JRSS A*
    142, 33–46.
    """
    return calibrate(totals, [Margin.from_table(population, columns)])


def rake(totals: PsuTotals, margins: Sequence[tuple[Sequence[str], Mapping[str, Sequence]]],
         *, max_iter: int = 100, tol: float = 1e-10) -> Calibration:
    """Rake to several margins, each given as (columns, population table)."""
    built = [Margin.from_table(table, cols) for cols, table in margins]
    return calibrate(totals, built, max_iter=max_iter, tol=tol)
