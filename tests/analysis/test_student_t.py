"""The scipy-free t quantiles and logistic function match scipy.special to 1e-12."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from analysis import intervals
from analysis.student_t import t_quantile

DFS = np.unique(np.concatenate([np.arange(1, 2001), np.logspace(3.3, 7, 120).round(),
                                [19_999, 20_000, 20_001, 20_002]]))


@pytest.mark.parametrize("level", [0.01, 0.2, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999])
def test_t_quantile_matches_scipy(level):
    p = 1 - (1 - level) / 2
    mine = t_quantile(DFS, p)
    np.testing.assert_allclose(mine, special.stdtrit(DFS, p), rtol=1e-12 if level < 0.2 else
                               1e-14, atol=0)


def test_t_quantile_declines_what_it_cannot_promise():
    assert t_quantile([5.5], 0.975) is None  # not a whole number
    assert t_quantile([0], 0.975) is None
    assert t_quantile([10], 0.99995) is None  # a 99.99 % interval: scipy's
    assert t_quantile(np.array([], dtype=float), 0.975).shape == (0,)


def test_t_quantile_keeps_the_shape_and_repeats():
    df = np.array([[9, 9], [30, 1]])
    got = t_quantile(df, 0.975)
    assert got.shape == (2, 2) and got[0, 0] == got[0, 1]


def test_expit_matches_scipy():
    x = np.concatenate([np.linspace(-800, 800, 20001), np.geomspace(1e-300, 1, 50),
                        -np.geomspace(1e-300, 1, 50), [0.0, -np.inf, np.inf]])
    np.testing.assert_allclose(intervals._expit(x), special.expit(x), rtol=1e-15, atol=0)


def test_intervals_beyond_99_9_percent_still_use_scipy():
    p, se, df, n = np.array([0.8]), np.array([0.02]), np.array([12.0]), np.array([50])
    ci = intervals.confidence_intervals(p, se, df, n, level=0.9999, method="wald")
    t = special.stdtrit(12.0, 1 - 0.0001 / 2)
    np.testing.assert_allclose([ci.low[0], ci.high[0]], [0.8 - t * 0.02, 0.8 + t * 0.02],
                               rtol=1e-15)


def test_normal_quantile_is_statistics_inv_cdf():
    from statistics import NormalDist

    from analysis.student_t import _normal_quantile

    for p in (0.5000001, 0.75, 0.95, 0.975, 0.995, 0.9995, 0.999999):
        assert _normal_quantile(p) == NormalDist().inv_cdf(p)
