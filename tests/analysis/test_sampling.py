"""Official survey mode (issue 19): sample sizes, allocation, drawing, weights and the fpc.

Design-based estimates with the finite population correction and after post-stratification are
compared with R's survey package (results/reference_campaign.R on results/campaign.csv).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.compare import pooled
from analysis.estimate import estimate_indices
from analysis.sampling import (
    SamplingError,
    allocate,
    design_weights,
    draw_sample,
    expected_half_width,
    plan_strata,
    sample_size,
    with_fpc,
)
from analysis.spec import ElementSpec, IndexSpec
from analysis.totals import totals_from_rows
from analysis.weighting import poststratify

from .conftest import assert_close

SPEC = IndexSpec("campaign", 5, frozenset({4, 5}),
                 (ElementSpec("E1", 1.0, ("E1_1", "E1_2")), ElementSpec("E2", 1.0, ("E2_1",))))
RTOL = 1e-12  # R writes 15 significant digits; the largest difference is 3.3e-15


def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def test_sample_size_by_hand():
    # n0 = 1.959964² · 0.25 / 0.05² = 384.146; N = 1000: 384.146 / (1 + 383.146/1000) = 277.74
    completes, invitations = sample_size([1000, 200, 50], 0.05, response_rate=0.5)
    assert completes.tolist() == [278, 132, 45]
    # invitations n/RR, never more than the stratum holds
    assert invitations.tolist() == [556, 200, 50]
    # design effect 2 doubles n0 = 768.29; N = 10⁶: 768.29/(1 + 767.29e-6) = 767.70 -> 768
    assert sample_size([10**6], 0.05, design_effect=2.0)[0].tolist() == [768]
    # p = 0.8: n0 = 1.959964² · 0.16 / 0.03² = 682.95 -> 683 without a fpc worth a unit
    assert sample_size([10**7], 0.03, p=0.8)[0].tolist() == [683]


def test_expected_half_width_inverts_sample_size():
    e = expected_half_width([1000], [556], response_rate=0.5)
    # 278 completes: 1.959964 · √(0.25 · 722/(278 · 999)) = 0.049983
    assert e[0] == pytest.approx(1.959963984540054 * np.sqrt(0.25 * 722 / (278 * 999)), rel=1e-12)
    assert e[0] <= 0.05
    assert expected_half_width([40], [40])[0] == 0.0


def test_allocations_by_hand():
    assert allocate([1000, 200, 50], 100).tolist() == [80, 16, 4]
    assert allocate([1000, 200, 50], 100, method="equal").tolist() == [34, 33, 33]
    # Neyman with S = (0.5, 0.3, 0.5): N·S = 500, 60, 25 -> 85.47, 10.26, 4.27 -> 86, 10, 4
    assert allocate([1000, 200, 50], 100, method="neyman", sd=[0.5, 0.3, 0.5]).tolist() == [86, 10, 4]
    # Neyman with equal S is proportional
    assert allocate([1000, 200, 50], 100, method="neyman").tolist() == [80, 16, 4]
    # a stratum smaller than its share is taken whole and the rest shared again
    assert allocate([5, 100, 100], 60, method="equal").tolist() == [5, 28, 27]
    # the minimum of 2 per stratum: 1000/1003·10 gives 9.97 to the first, the other two get 2
    assert allocate([1000, 2, 1], 10).tolist() == [7, 2, 1]
    # more than the frame: everything
    assert allocate([3, 4], 100).tolist() == [3, 4]


def test_allocation_keeps_total_and_bounds():
    rng = _rng(5)
    for _ in range(200):
        population = rng.integers(1, 500, size=rng.integers(1, 12))
        total = int(rng.integers(2 * len(population), population.sum() + 10))
        for method in ("proportional", "equal", "neyman"):
            got = allocate(population, total, method=method, sd=rng.random(len(population)) + 0.01)
            assert got.sum() == min(total, population.sum())
            assert np.all(got <= population) and np.all(got >= np.minimum(2, population))


def test_plan_with_budget():
    plan = plan_strata([1000, 200, 50], half_width=0.05, response_rate=0.5, budget=600)
    assert plan.needed.tolist() == [556, 200, 50] and plan.total_needed == 806
    assert plan.allocated.tolist() == [480, 96, 24] and plan.total == 600 and plan.capped
    assert plan.expected_completes.tolist() == [240, 48, 12]
    # 240 of 1000: 1.959964·√(0.25·760/(240·999)) = 0.055174
    expected = 1.959963984540054 * np.sqrt(0.25 * 760 / (240 * 999))
    assert plan.expected_half_width[0] == pytest.approx(expected, rel=1e-12)
    free = plan_strata([1000, 200, 50], half_width=0.05, response_rate=0.5, method="equal")
    assert free.total == 806 and not free.capped
    assert free.allocated.tolist() == [556, 200, 50]


def test_bad_plans_have_clear_errors():
    with pytest.raises(SamplingError, match="stratum 1 has no dossiers") as err:
        plan_strata([10, 0], half_width=0.05)
    assert err.value.stratum == 1
    with pytest.raises(SamplingError, match="below the minimum of 6"):
        allocate([10, 10, 10], 5)
    with pytest.raises(SamplingError, match="unknown allocation"):
        allocate([10], 5, method="optimal")


def _frame():
    stratum = np.repeat([0, 1, 2], [10, 7, 5])
    codes = np.array([f"D{i:03d}" for i in range(22)])
    return stratum, codes


@pytest.mark.parametrize("method", ["srs", "systematic"])
def test_draw_is_reproducible_and_independent_of_row_order(method):
    stratum, codes = _frame()
    first = draw_sample(stratum, [3, 2, 5], _rng(42), order_key=codes, method=method)
    shuffled = _rng(0).permutation(len(codes))
    again = draw_sample(stratum[shuffled], [3, 2, 5], _rng(42), order_key=codes[shuffled],
                        method=method)
    assert codes[first.index].tolist() == codes[shuffled][again.index].tolist()
    assert first.order.tolist() == [1, 2, 3, 1, 2, 1, 2, 3, 4, 5]
    assert np.allclose(first.probability, np.repeat([0.3, 2 / 7, 1.0], [3, 2, 5]))
    assert np.all(stratum[first.index] == first.stratum)
    assert len(set(first.index.tolist())) == 10


def test_srs_draw_values_and_another_seed():
    stratum, codes = _frame()
    draw = draw_sample(stratum, [3, 2, 5], _rng(42), order_key=codes)
    assert codes[draw.index].tolist()[:5] == ["D004", "D008", "D001", "D015", "D010"]
    other = draw_sample(stratum, [3, 2, 5], _rng(43), order_key=codes)
    assert codes[other.index].tolist()[:5] != codes[draw.index].tolist()[:5]


def test_systematic_takes_every_kth():
    stratum = np.zeros(12, dtype=int)
    codes = np.array([f"D{i:02d}" for i in range(12)])
    for seed in range(20):
        draw = draw_sample(stratum, [4], _rng(seed), order_key=codes, method="systematic")
        steps = np.diff(draw.index)
        assert np.all(steps == 3)  # interval 12/4
    # a fractional interval 10/4 = 2.5: steps of 2 and 3, four distinct units
    draw = draw_sample(np.zeros(10, dtype=int), [4], _rng(1), method="systematic")
    assert set(np.diff(draw.index).tolist()) <= {2, 3} and len(set(draw.index.tolist())) == 4


def test_systematic_inclusion_probabilities_are_exact():
    # over all N starts every unit is taken exactly n times: π = n/N
    counts = np.zeros(10)
    for r in range(10):
        counts[(r + np.arange(4) * 10) // 4] += 1
    assert np.all(counts == 4)


def test_draw_refuses_more_than_a_stratum_holds_and_empty_strata():
    stratum, codes = _frame()
    with pytest.raises(SamplingError, match="stratum 1 holds 7 dossiers; 8 cannot be drawn") as err:
        draw_sample(stratum, [3, 8, 5], _rng(1), order_key=codes)
    assert (err.value.population, err.value.requested) == (7, 8)
    with pytest.raises(SamplingError, match="stratum 3 has no dossiers"):
        draw_sample(stratum, [3, 2, 5, 1], _rng(1))


def test_nonresponse_adjustment():
    w = design_weights([0.3, 0.3, 0.3, 0.5, 0.5, 0.2], [1, 0, 1, 1, 1, 0], [0, 0, 0, 1, 1, 2])
    assert np.allclose(w.base, [10 / 3] * 3 + [2, 2, 5])
    # class 0: 10 sampled weight over 20/3 answered -> 1.5
    assert np.allclose(w.adjusted, [5, 0, 5, 2, 2, 0])
    assert np.allclose(w.factor[:2], [1.5, 1.0]) and np.isnan(w.factor[2])
    assert w.empty_classes.tolist() == [2]


@pytest.fixture(scope="module")
def campaign(results):
    return pd.read_csv(results / "campaign.csv")


def _totals(frame: pd.DataFrame, calibration=()):
    totals = totals_from_rows({k: frame[k].to_numpy(float) for k in SPEC.criteria}, SPEC,
                              weight=frame["w"].to_numpy(), stratum=frame["stratum"].to_numpy(),
                              by={"stratum": frame["stratum"].to_numpy()},
                              calibration={c: frame[c].to_numpy() for c in calibration})
    population = frame.groupby("stratum")["N_h"].first().sort_index().to_numpy()
    return with_fpc(totals, population)


def test_weights_sum_to_frame_sizes(campaign):
    sums = campaign.groupby("stratum")["w"].sum()
    assert np.allclose(sums.to_numpy(), [400, 150, 30], rtol=1e-12)


@pytest.mark.parametrize("analysis", ["fpc", "poststratify"])
def test_fpc_and_poststratified_estimates_match_r(results, campaign, analysis):
    reference = pd.read_csv(results / "reference_campaign.csv")
    reference = reference[reference["analysis"] == analysis]
    calibration = ("group",) if analysis == "poststratify" else ()
    totals = _totals(campaign, calibration)
    cal = None
    if analysis == "poststratify":
        population = pd.read_csv(results / "campaign_population.csv")
        cal = poststratify(totals, {"group": population["group"], "total": population["total"]},
                           ["group"])
        totals = cal.apply(totals)
    by = pd.DataFrame(estimate_indices(totals, calibration=cal).records())
    by["group"] = [r["stratum"] for r in by["by"]]
    whole = pd.DataFrame(estimate_indices(pooled(totals), calibration=cal).records())
    whole["group"] = "ALL"
    got = pd.concat([whole, by]).merge(reference, on=["group", "code"], suffixes=("", "_r"))
    assert len(got) == len(reference) == 4 * 6
    assert_close(got["estimate"] / 100, got["estimate_r"], RTOL)
    assert_close(got["se"] / 100, got["se_r"], RTOL)


def test_fpc_shrinks_the_variance_by_one_minus_f(campaign):
    totals = _totals(campaign)
    no_fpc = totals_from_rows({k: campaign[k].to_numpy(float) for k in SPEC.criteria}, SPEC,
                              weight=campaign["w"].to_numpy(), stratum=campaign["stratum"].to_numpy(),
                              by={"stratum": campaign["stratum"].to_numpy()})
    with_f = pd.DataFrame(estimate_indices(totals).records())
    without = pd.DataFrame(estimate_indices(no_fpc).records())
    n_h = campaign.groupby("stratum").size().sort_index().to_numpy()
    f = n_h / np.array([400, 150, 30])
    ratio = (with_f["se"] / without["se"]) ** 2
    expected = np.repeat(1 - f, 6)
    assert_close(ratio.to_numpy(), expected, 1e-12)
    assert "1 − n_h/N_h" in estimate_indices(totals).meta["variance"]
    assert "N_h" not in estimate_indices(no_fpc).meta["variance"]


def test_with_fpc_refuses_more_psus_than_population(campaign):
    totals = _totals(campaign)
    with pytest.raises(SamplingError, match="stratum 2 has 15 PSUs in the sample but 10"):
        with_fpc(totals, [400, 150, 10])
