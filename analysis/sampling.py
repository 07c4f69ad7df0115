"""Official survey mode: sample sizes, allocation, stratified drawing and design weights.

A campaign draws dossiers (completed cases of the one-stop system) without
replacement within strata (agency, or agency × procedure group). This module
plans the sample before anything is drawn, draws it reproducibly from a seed,
and turns the inclusion probabilities and who answered into weights for
:func:`analysis.estimate.estimate_indices`:

- :func:`sample_size` and :func:`expected_half_width`: completes needed for
  a target half-width of the 95 % interval of a share, with a design effect,
  the finite population correction and an expected response rate;
- :func:`allocate`: proportional, equal or Neyman allocation of a total,
  bounded by each stratum's size and a minimum, rounded by largest remainder;
- :func:`plan_strata`: both of the above for every stratum, with a budget cap;
- :func:`draw_sample`: simple random (random sort) or systematic sampling
  within strata from a :class:`numpy.random.Generator`;
- :func:`design_weights`: base weights 1/π and a non-response adjustment
  within weighting classes;
- :func:`with_fpc`: the finite population correction per stratum for the
  variance estimators.

docs/METHODOLOGY.md ("Official survey mode") gives the formulas.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from .errors import AnalysisError
from .totals import PsuTotals, _replace

__all__ = ["ALLOCATIONS", "DRAW_METHODS", "Draw", "DesignWeights", "Plan", "SamplingError",
           "allocate", "design_weights", "draw_sample", "expected_half_width", "plan_strata",
           "sample_size", "with_fpc"]

ALLOCATIONS = ("proportional", "equal", "neyman")
DRAW_METHODS = ("srs", "systematic")


class SamplingError(AnalysisError):
    """A plan or a draw that cannot be done; ``stratum`` (an index) and the numbers say why."""

    def __init__(self, message: str, *, stratum: int | None = None, population: int | None = None,
                 requested: int | None = None) -> None:
        super().__init__(message)
        self.stratum = stratum
        self.population = population
        self.requested = requested


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise SamplingError(f"confidence level must be between 0 and 1, got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def _check_population(population: np.ndarray) -> np.ndarray:
    population = np.asarray(population, dtype=np.int64)
    empty = np.flatnonzero(population <= 0)
    if len(empty):
        h = int(empty[0])
        raise SamplingError(f"stratum {h} has no dossiers in the frame", stratum=h, population=0)
    return population


def sample_size(population, half_width: float, *, p=0.5, design_effect: float = 1.0,
                response_rate: float = 1.0, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Completes needed per stratum for a target half-width, and the invitations to send.

    Parameters
    ----------
    population : array of int
        N_h, dossiers in each stratum's frame (> 0).
    half_width : float
        e, half-width of the interval of the share, as a fraction (0.05 = ±5 points).
    p : float or array
        Expected share satisfied (0.5 is the conservative choice).
    design_effect, response_rate, level : float

    Returns
    -------
    completes, invitations : ndarray of int
        n_h = ⌈n0/(1 + (n0 − 1)/N_h)⌉ capped at N_h, and ⌈n_h/RR⌉ capped at N_h.

    Notes
    -----
    n0 = z² p(1 − p)·deff / e², z the normal quantile for ``level``;
    the finite population correction gives n = n0/(1 + (n0 − 1)/N)
    (Cochran 1977, §4.4); invitations = n/RR.

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., Wiley, §4.4.
    """
    population = _check_population(population)
    if not 0 < half_width < 1:
        raise SamplingError(f"half-width must be between 0 and 1, got {half_width}")
    if design_effect < 1 or not 0 < response_rate <= 1:
        raise SamplingError("design effect must be >= 1 and response rate in (0, 1]")
    p = np.broadcast_to(np.asarray(p, dtype=float), population.shape)
    n0 = _z(level) ** 2 * p * (1 - p) * design_effect / half_width ** 2
    n = n0 / (1 + (n0 - 1) / population)
    # a tolerance so that an exact integer computed with rounding noise is not pushed up by one
    completes = np.minimum(np.ceil(n - 1e-9), population).astype(np.int64)
    invitations = np.minimum(np.ceil(completes / response_rate - 1e-9), population).astype(np.int64)
    return completes, invitations


def expected_half_width(population, invitations, *, p=0.5, design_effect: float = 1.0,
                        response_rate: float = 1.0, level: float = 0.95) -> np.ndarray:
    """Half-width expected from ``invitations`` per stratum: the inverse of :func:`sample_size`.

    Notes
    -----
    With n = RR·m expected completes of m invitations,
    e = z·√(deff·p(1 − p)·(N − n)/(n(N − 1))); 0 when n = N, NaN when n = 0.
    """
    population = _check_population(population)
    n = np.minimum(np.asarray(invitations, dtype=float) * response_rate, population)
    p = np.broadcast_to(np.asarray(p, dtype=float), population.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        fpc = np.where(population > 1, (population - n) / np.maximum(population - 1, 1), 0.0)
        e = _z(level) * np.sqrt(design_effect * p * (1 - p) * fpc / n)
    return np.where(n > 0, e, np.nan)


def allocate(population, total: int, *, method: str = "proportional", sd=None,
             minimum: int = 2) -> np.ndarray:
    """Share ``total`` units among strata, within [min(minimum, N_h), N_h], in integers.

    Parameters
    ----------
    population : array of int
        N_h (> 0).
    total : int
        Units to allocate; more than Σ N_h takes every unit.
    method : {'proportional', 'equal', 'neyman'}
        n_h ∝ N_h, n_h ∝ 1, or n_h ∝ N_h S_h.
    sd : array, optional
        S_h for Neyman (default 0.5 = √(0.5·0.5): then Neyman is proportional).
    minimum : int
        Fewest units per stratum (2 lets every stratum have a variance).

    Returns
    -------
    ndarray of int, summing to min(total, Σ N_h).

    Raises
    ------
    SamplingError
        Unknown method, or ``total`` below the sum of the minimums.

    Notes
    -----
    Bounded allocation: strata whose share exceeds N_h are set to N_h, those
    below the minimum to the minimum, and the rest shared again among the
    others until none is out of bounds. The shares are then rounded by the
    largest remainder (Hamilton) method, ties to the earlier stratum, so the
    total is kept exactly.

    References
    ----------
    Neyman, J. (1934). On the two different aspects of the representative
    method. *JRSS* 97, 558–625.
    Cochran, W. G. (1977). *Sampling Techniques*, §5.5 and §5.9.
    """
    population = _check_population(population)
    size = _size_measure(population, method, sd)
    total = int(min(total, population.sum()))
    low = np.minimum(minimum, population).astype(float)
    if total < low.sum():
        raise SamplingError(f"a total of {total} is below the minimum of {int(low.sum())} "
                            f"({minimum} per stratum)", requested=total)
    share = _bounded_shares(size, float(total), low, population.astype(float))
    return _largest_remainder(share, total)


def _size_measure(population: np.ndarray, method: str, sd) -> np.ndarray:
    if method == "proportional":
        return population.astype(float)
    if method == "equal":
        return np.ones(len(population))
    if method == "neyman":
        s = np.broadcast_to(np.asarray(0.5 if sd is None else sd, dtype=float), population.shape)
        if np.any(s < 0) or not np.any(s > 0):
            raise SamplingError("Neyman allocation needs standard deviations >= 0, not all 0")
        return population * s
    raise SamplingError(f"unknown allocation {method!r}; use one of {', '.join(ALLOCATIONS)}")


def _bounded_shares(size, total, low, high) -> np.ndarray:
    """Shares ∝ size summing to ``total`` within [low, high] (at most one pass per stratum)."""
    fixed = np.full(len(size), np.nan)
    for _ in range(2 * len(size) + 1):
        free = np.isnan(fixed)
        left = total - np.nansum(fixed)
        weight = np.where(free, size, 0.0)
        share = np.where(free, left * weight / weight.sum() if weight.sum() > 0 else 0.0, fixed)
        over = free & (share > high)
        under = free & (share < low)
        if over.any():
            fixed[over] = high[over]
        elif under.any():
            fixed[under] = low[under]
        else:
            return share
    return share


def _largest_remainder(share: np.ndarray, total: int) -> np.ndarray:
    # rounding noise must not make 3.0000000001 a remainder that takes a unit
    base = np.floor(share + 1e-9).astype(np.int64)
    rest = total - int(base.sum())
    if rest > 0:
        order = np.argsort(-(share - base), kind="stable")
        base[order[:rest]] += 1
    return base


@dataclass(frozen=True)
class Plan:
    """Per stratum: frame size, completes and invitations needed, invitations allocated."""

    population: np.ndarray
    needed_completes: np.ndarray
    needed: np.ndarray
    allocated: np.ndarray
    expected_completes: np.ndarray
    expected_half_width: np.ndarray
    total_needed: int
    total: int
    capped: bool


def plan_strata(population, *, half_width: float, design_effect: float = 1.0,
                response_rate: float = 1.0, method: str = "proportional", budget: int | None = None,
                p=0.5, minimum: int = 2, level: float = 0.95) -> Plan:
    """Sample sizes needed per stratum, and their allocation within an optional budget.

    Notes
    -----
    The total is T = Σ_h m_h, m_h the invitations each stratum needs on its
    own (:func:`sample_size`), or the budget when smaller; T is then shared
    by ``method`` (:func:`allocate`; Neyman with S_h = √(p_h(1 − p_h))).
    Expected completes are RR·n_h and the expected half-width is
    :func:`expected_half_width` of the allocation.
    """
    population = _check_population(population)
    completes, needed = sample_size(population, half_width, p=p, design_effect=design_effect,
                                    response_rate=response_rate, level=level)
    total_needed = int(needed.sum())
    total = total_needed if budget is None else min(total_needed, int(budget))
    if budget is not None and budget <= 0:
        raise SamplingError(f"budget must be positive, got {budget}", requested=int(budget))
    p_arr = np.broadcast_to(np.asarray(p, dtype=float), population.shape)
    allocated = allocate(population, total, method=method, sd=np.sqrt(p_arr * (1 - p_arr)),
                         minimum=minimum)
    return Plan(
        population=population, needed_completes=completes, needed=needed, allocated=allocated,
        expected_completes=allocated * response_rate,
        expected_half_width=expected_half_width(population, allocated, p=p,
                                                design_effect=design_effect,
                                                response_rate=response_rate, level=level),
        total_needed=total_needed, total=int(allocated.sum()), capped=total < total_needed)


@dataclass(frozen=True)
class Draw:
    """The drawn units: frame positions, their stratum, order of selection and π.

    ``index`` points into the frame arrays given to :func:`draw_sample`;
    rows come stratum by stratum, in order of selection (``order`` 1-based).
    """

    index: np.ndarray
    stratum: np.ndarray
    order: np.ndarray
    probability: np.ndarray


def draw_sample(stratum, sizes, rng: np.random.Generator, *, order_key=None,
                method: str = "srs") -> Draw:
    """Draw ``sizes[h]`` units without replacement from each stratum h of a frame.

    Parameters
    ----------
    stratum : array of int
        Stratum code (0..H−1) of each frame unit.
    sizes : array of int
        n_h per stratum.
    rng : numpy.random.Generator
        E.g. ``Generator(PCG64(seed))``: the same seed and frame give the same sample.
    order_key : array, optional
        Sorts the frame within strata before drawing (dossier codes), so the
        sample does not depend on the order rows came in; systematic sampling
        goes through the frame in this order (sort by completion date first
        for an implicit stratification by time).
    method : {'srs', 'systematic'}

    Returns
    -------
    Draw

    Raises
    ------
    SamplingError
        An empty stratum, or n_h > N_h (with both numbers).

    Notes
    -----
    Simple random sampling by random sort: every unit gets U(0, 1) in frame
    order and the n_h smallest of each stratum are taken (Sunter 1977).
    Systematic: a start r_h uniform on {0, …, N_h − 1} and units
    ⌊(r_h + i·N_h)/n_h⌋, i = 0…n_h − 1: a fractional interval N_h/n_h in
    integer arithmetic, so π = n_h/N_h exactly. Either way π_h = n_h/N_h.

    References
    ----------
    Sunter, A. B. (1977). List sequential sampling with equal or unequal
    probabilities without replacement. *Applied Statistics* 26, 261–268.
    Madow, W. G. and Madow, L. H. (1944). On the theory of systematic
    sampling. *Ann. Math. Statist.* 15, 1–24.
    """
    stratum = np.asarray(stratum, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    population = np.bincount(stratum, minlength=len(sizes))
    if len(population) > len(sizes):
        raise SamplingError("the frame has strata without a sample size")
    _check_population(population)
    over = np.flatnonzero(sizes > population)
    if len(over):
        h = int(over[0])
        raise SamplingError(f"stratum {h} holds {population[h]} dossiers; {sizes[h]} cannot be drawn",
                            stratum=h, population=int(population[h]), requested=int(sizes[h]))
    if np.any(sizes < 0):
        raise SamplingError("sample sizes must be >= 0")
    keys = [stratum] if order_key is None else [np.asarray(order_key), stratum]
    frame = np.lexsort(keys)  # frame positions by stratum, then order key
    start = np.concatenate([[0], np.cumsum(population)[:-1]])
    if method == "srs":
        u = rng.random(len(frame))
        ranked = frame[np.lexsort((u, stratum[frame]))]
        rank = np.arange(len(frame)) - start[stratum[ranked]]
        take = rank < sizes[stratum[ranked]]
        index, order = ranked[take], rank[take] + 1
    elif method == "systematic":
        r = rng.integers(0, population)
        h = np.repeat(np.arange(len(sizes)), sizes)
        i = np.arange(len(h)) - np.concatenate([[0], np.cumsum(sizes)[:-1]])[h]
        index, order = frame[start[h] + (r[h] + i * population[h]) // np.maximum(sizes[h], 1)], i + 1
    else:
        raise SamplingError(f"unknown draw method {method!r}; use one of {', '.join(DRAW_METHODS)}")
    h = stratum[index]
    return Draw(index=index, stratum=h, order=order.astype(np.int64),
                probability=sizes[h] / population[h])


@dataclass(frozen=True)
class DesignWeights:
    """Weights of the sampled units: base 1/π, and after non-response adjustment.

    ``adjusted`` is 0 for non-respondents; ``factor`` is per weighting class
    (NaN for a class without respondents, listed in ``empty_classes``).
    """

    base: np.ndarray
    adjusted: np.ndarray
    factor: np.ndarray
    empty_classes: np.ndarray


def design_weights(probability, responded, classes) -> DesignWeights:
    """Base weights 1/π and the weighting-class non-response adjustment.

    Parameters
    ----------
    probability : array of float
        π_i of every sampled unit (respondents and not).
    responded : array of bool
    classes : array of int
        Weighting class (0..C−1) of each unit, usually its stratum.

    Notes
    -----
    d_i = 1/π_i; in class c, a_c = Σ_{i∈s_c} d_i / Σ_{i∈r_c} d_i and
    w_i = a_c d_i for respondents, so the respondents of a class carry the
    whole class's base weight (with strata as classes and π = n_h/N_h,
    Σ w = N_h).

    References
    ----------
    Kalton, G. and Flores-Cervantes, I. (2003). Weighting methods. *Journal
    of Official Statistics* 19, 81–97.
    """
    probability = np.asarray(probability, dtype=float)
    responded = np.asarray(responded, dtype=bool)
    classes = np.asarray(classes, dtype=np.int64)
    if np.any(~(probability > 0) | (probability > 1)):
        raise SamplingError("inclusion probabilities must be in (0, 1]")
    base = 1.0 / probability
    n_classes = int(classes.max(initial=-1)) + 1
    sampled = np.bincount(classes, weights=base, minlength=n_classes)
    answered = np.bincount(classes, weights=base * responded, minlength=n_classes)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(answered > 0, sampled / answered, np.nan)
    adjusted = np.where(responded, base * np.nan_to_num(factor[classes]), 0.0)
    empty = np.flatnonzero((sampled > 0) & (answered == 0))
    return DesignWeights(base=base, adjusted=adjusted, factor=factor, empty_classes=empty)


def with_fpc(totals: PsuTotals, population) -> PsuTotals:
    """``totals`` with the finite population correction 1 − n_h/N_h of every stratum.

    Parameters
    ----------
    totals : PsuTotals
    population : array of int
        N_h per stratum code of ``totals`` (the sorted stratum labels).

    Notes
    -----
    n_h is the number of PSUs of stratum h in the design (the respondents,
    as R ``svydesign(ids = ~1, strata = ~h, fpc = ~N_h)`` counts them).
    """
    population = np.asarray(population, dtype=float)
    n_h = totals.psus_per_stratum()
    if len(population) != len(n_h):
        raise SamplingError(f"{len(population)} stratum sizes for {len(n_h)} strata")
    bad = np.flatnonzero(population < n_h)
    if len(bad):
        h = int(bad[0])
        raise SamplingError(f"stratum {h} has {n_h[h]} PSUs in the sample but {int(population[h])} "
                            "in the population", stratum=h, population=int(population[h]),
                            requested=int(n_h[h]))
    return _replace(totals, stratum_fpc=1.0 - n_h / population)
