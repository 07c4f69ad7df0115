"""Invariances of the estimators (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.estimate import estimate_indices
from analysis.spec import ElementSpec, IndexSpec
from analysis.totals import totals_from_rows

SPEC = IndexSpec("prop", 5, frozenset({4, 5}),
                 (ElementSpec("E1", 1.0, ("a", "b")), ElementSpec("E2", 2.0, ("c",))))
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def samples(draw):
    n = draw(st.integers(4, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    ratings = rng.integers(1, 6, (n, 3)).astype(float)
    ratings[rng.random((n, 3)) < 0.2] = np.nan
    ratings[0] = [5.0, 1.0, 3.0]  # every criterion answered at least once
    return {
        "ratings": ratings,
        "weight": rng.uniform(0.2, 5.0, n),
        "stratum": rng.integers(0, 3, n),
        "psu": rng.integers(0, 4, n),
        "group": rng.choice(["x", "y"], n),
    }


def _table(s, order=None, scale=1.0, **kw):
    idx = np.arange(len(s["weight"])) if order is None else order
    totals = totals_from_rows(s["ratings"][idx], SPEC, weight=s["weight"][idx] * scale,
                              stratum=s["stratum"][idx], psu=s["psu"][idx],
                              by={"g": s["group"][idx]})
    return estimate_indices(totals, measure="both", **kw)


def _same(a, b):
    for name in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-9)
    assert (a.df == b.df).all() and (a.n == b.n).all()


@FAST
@given(samples(), st.floats(1e-3, 1e3))
def test_scaling_weights_changes_nothing(s, scale):
    _same(_table(s), _table(s, scale=scale))


@FAST
@given(samples(), st.randoms(use_true_random=False))
def test_permuting_rows_changes_nothing(s, random):
    order = list(range(len(s["weight"])))
    random.shuffle(order)
    _same(_table(s), _table(s, order=np.array(order)))


@FAST
@given(samples())
def test_simple_random_sample_gives_plain_proportions(s):
    r = s["ratings"]
    table = estimate_indices(totals_from_rows(r, SPEC))
    answered = ~np.isnan(r)
    satisfied = np.isin(r, [4, 5])
    plain = satisfied.sum(0) / answered.sum(0)
    e1 = satisfied[:, :2].sum() / answered[:, :2].sum()
    expected = [*plain, e1, plain[2], (e1 + 2 * plain[2]) / 3]
    np.testing.assert_allclose(table.estimate / 100, expected, rtol=1e-12)


@FAST
@given(samples(), st.integers(1, 5))
def test_constant_answers_have_zero_variance(s, value):
    s = dict(s, ratings=np.where(np.isnan(s["ratings"]), np.nan, float(value)))
    for method in ("logit", "wald", "wilson", "korn-graubard"):
        table = _table(s, ci_method=method)
        has = np.isfinite(table.estimate)
        assert all("empty" in f for f in np.array(table.flags, dtype=object)[~has])
        np.testing.assert_allclose(table.se[has], 0.0, atol=0)
        ok = has & (table.df >= 1)
        np.testing.assert_allclose(table.ci_low[ok], table.estimate[ok], atol=1e-9)
        np.testing.assert_allclose(table.ci_high[ok], table.estimate[ok], atol=1e-9)
        assert np.isfinite(table.ci_low[has]).all() and np.isfinite(table.ci_high[has]).all()
