"""Student t quantiles for whole-number degrees of freedom, without scipy.

Every interval needs t_{df, 1−α/2}, and the design degrees of freedom are
whole numbers (PSUs minus strata). Importing ``scipy.special`` for its
``stdtrit`` costs about 0.25 s, as long as estimating 31,000 indices, so the
command line computes the quantile here. The results agree with
``scipy.special.stdtrit`` to 1e-14 relative at levels 0.5 … 0.999 and to
1e-12 below (tests/analysis/test_student_t.py checks df = 1 … 10⁷; at a
level of 0.01 and df = 4 the exact closed form sides with this module).
Whenever that cannot be promised (df not a whole number, a level above
0.999, no extended precision on this platform) the caller gets None and
uses scipy.

Method
------
For df = ν ≤ ``SERIES_MAX`` the distribution function has a closed form
(Abramowitz & Stegun 26.7.3–4): with θ = atan(t/√ν),

- ν odd:  P(|T| < t) = (2/π)(θ + sin θ cos θ Σ_{k<(ν−1)/2} d_k cos^{2k} θ),
  d_k = Π_{i≤k} 2i/(2i+1);
- ν even: P(|T| < t) = sin θ Σ_{k<ν/2} c_k cos^{2k} θ, c_k = Π_{i≤k} (2i−1)/(2i).

Newton's method solves P(|T| < t) = 2p − 1 in extended precision (80-bit
long double), starting from the Cornish–Fisher expansion (A&S 26.7.5) or
the normal quantile, which lies below every t quantile; the function is
concave in t, so after one step the iterates approach the root from below.
For ν > ``SERIES_MAX`` the expansion alone is exact to double precision;
ν = 1 and 2 have closed-form quantiles.

References
----------
Abramowitz, M. and Stegun, I. A. (1964). *Handbook of Mathematical
Functions*, 26.7.3, 26.7.4 and 26.7.5.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["t_quantile"]

#: Largest df evaluated by the closed-form series (longer series cost more than they gain).
SERIES_MAX = 20_000
#: Largest p served (a 99.9 % interval). Further out the quantile is so steep in p that the
#: series' rounding shows at 1e-12 for large df; scipy serves those rare levels.
P_MAX = 0.9995
_LD = np.longdouble
_PI = 4 * np.arctan(_LD(1))
_STEPS = 60


def _coefficients(n: int) -> tuple[np.ndarray, np.ndarray]:
    """c_k and d_k for k < n, in long double."""
    i = np.arange(1, n, dtype=_LD)
    c = np.concatenate([[_LD(1)], np.cumprod((2 * i - 1) / (2 * i))])
    d = np.concatenate([[_LD(1)], np.cumprod((2 * i) / (2 * i + 1))])
    return c, d


_C, _D = _coefficients(SERIES_MAX // 2 + 1)


def _powers(y: np.longdouble, m: int) -> np.ndarray:
    """1, y, y², …, y^(m−1); a running product stays within m·1e-19 relative."""
    out = np.full(m, y, dtype=_LD)
    out[0] = 1
    return np.cumprod(out)


def _abs_cdf(t: np.longdouble, nu: int) -> np.longdouble:
    """P(|T| < t) for T ~ t_ν, t > 0, in long double."""
    theta = np.arctan(t / np.sqrt(_LD(nu)))
    s, c = np.sin(theta), np.cos(theta)
    if nu % 2:
        m = (nu - 1) // 2
        series = np.dot(_D[:m], _powers(c * c, m)) if m else _LD(0)
        return 2 / _PI * (theta + s * c * series)
    m = nu // 2
    return s * np.dot(_C[:m], _powers(c * c, m))


def _density(t: float, nu: int) -> float:
    """f_ν(t); Newton only needs it roughly, so double precision."""
    log_norm = math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi)
    return math.exp(log_norm - (nu + 1) / 2 * math.log1p(t * t / nu))


def _cornish_fisher(z: float, nu: float) -> float:
    """A&S 26.7.5: the t quantile from the normal one, to 1/ν⁴."""
    z2 = z * z
    g1 = (z2 + 1) * z / 4
    g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
    g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
    g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
    return z + (g1 + (g2 + (g3 + g4 / nu) / nu) / nu) / nu


def _one(nu: int, p: float, z: float) -> float:
    q = 1 - _LD(p)  # exact: p is a double in (0.5, 1)
    if nu == 1:  # Cauchy; closed forms also where Newton would need many steps
        return float(1 / np.tan(_PI * q))
    if nu == 2:
        return float((1 - 2 * q) / np.sqrt(2 * q * (1 - q)))
    start = _cornish_fisher(z, nu)
    if nu > SERIES_MAX:
        return start
    target = 1 - 2 * q
    t = _LD(max(start, z)) if nu > 4 else _LD(z)  # z is below every t quantile
    for _ in range(_STEPS):
        step = (_abs_cdf(t, nu) - target) / (2 * _LD(_density(float(t), nu)))
        t = max(t - step, _LD(z))
        # the error after a step is about the square of the step: far below 1e-18 here
        if abs(step) <= 1e-10 * t:
            break
    return float(t)


def _normal_quantile(p: float) -> float:
    """statistics.NormalDist().inv_cdf(p): Wichura's AS 241, exact to double precision.

    CPython's C implementation when it has one, which spares the command line
    the import of :mod:`statistics` (with random, fractions and decimal: 7 ms).
    """
    try:
        from _statistics import _normal_dist_inv_cdf
    except ImportError:
        from statistics import NormalDist

        return NormalDist().inv_cdf(p)
    return _normal_dist_inv_cdf(p, 0.0, 1.0)


def t_quantile(df, p: float) -> np.ndarray | None:
    """The p-quantile (0.5 < p ≤ 0.9995) of Student's t for each ``df``, or None.

    None means "use scipy": p outside that range (a level above 99.9 %), a
    df that is not a whole number ≥ 1, or no 80-bit long double here.
    """
    df = np.asarray(df, dtype=float)
    if not 0.5 < p <= P_MAX or np.finfo(_LD).eps > 1e-18:
        return None
    if df.size and not (np.all(df >= 1) and np.all(df == np.floor(df))
                        and np.all(np.isfinite(df))):
        return None
    z = _normal_quantile(p)
    values, index = np.unique(df, return_inverse=True)
    quantiles = np.array([_one(int(nu), p, z) for nu in values])
    return quantiles[index].reshape(df.shape)
