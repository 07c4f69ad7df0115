"""Hand-computed cases for the estimators, intervals and the aggregate-table entry point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import (
    AnalysisError,
    ElementSpec,
    IndexSpec,
    ReportingRules,
    confidence_intervals,
    estimate_indices,
    totals_from_rows,
    totals_from_table,
)

from .conftest import assert_close, make_totals

ONE = IndexSpec("one", 5, frozenset({4, 5}), (ElementSpec("E", 1.0, ("k",)),))


def test_ratio_and_linearised_se_by_hand():
    # weights 1..4, ratings 5, 4, 2, missing; one stratum, each row its own PSU
    totals = totals_from_rows([[5.0], [4.0], [2.0], [np.nan]], ONE, weight=[1, 2, 3, 4])
    table = estimate_indices(totals, ci_method="wald")
    # P = (1 + 2) / (1 + 2 + 3); z_i = w_i (s_i − 0.5 a_i) / 6 = 1/12, 1/6, −1/4, 0
    z = np.array([1 / 12, 1 / 6, -1 / 4, 0.0])
    var = 4 / 3 * np.sum((z - z.mean()) ** 2)
    assert_close(table.estimate[0], 50.0, 1e-12)
    assert_close(table.se[0], 100 * np.sqrt(var), 1e-12)
    assert table.n[0] == 3 and table.df[0] == 3


def test_mean_score_rescales_rating():
    totals = totals_from_rows([[5.0], [1.0], [3.0]], ONE)
    table = estimate_indices(totals, measure="mean-score")
    assert_close(table.estimate[0], 100 * (1.0 + 0.0 + 0.5) / 3, 1e-12)


def test_single_psu_stratum_contributes_its_total_squared():
    # stratum A: PSUs 1, 2; stratum B: one PSU (lonely) -> contributes z_B² uncentred
    ratings = np.array([[5.0], [1.0], [5.0], [1.0], [4.0]])
    totals = totals_from_rows(ratings, ONE, stratum=["A", "A", "A", "A", "B"],
                              psu=["1", "1", "2", "2", "1"])
    table = estimate_indices(totals)
    p = 3 / 5
    z_psu = np.array([1 - p, 1 - p, 1 - p]) / 5  # (s − p·a) summed per PSU, over X = 5
    z_psu[:2] = [(1 - 2 * p) / 5, (1 - 2 * p) / 5]
    var = 2 * np.sum((z_psu[:2] - z_psu[:2].mean()) ** 2) + z_psu[2] ** 2
    assert_close(table.se[0], 100 * np.sqrt(var), 1e-12)
    assert "lonely-psu" in table.flags[0]


def test_domain_variance_uses_whole_design():
    # domain d has one response in PSU 1 and one in PSU 2; PSU 3 holds only domain e.
    ratings = np.array([[5.0], [1.0], [5.0]])
    totals = totals_from_rows(ratings, ONE, psu=["1", "2", "3"], by={"g": ["d", "d", "e"]})
    table = estimate_indices(totals)
    # R_d = 1/2, X_d = 2: z = (1/4, −1/4, 0) over all three PSUs (n_h = 3), not two
    var = 3 / 2 * (0.25**2 + 0.25**2)
    assert_close(table.se[0], 100 * np.sqrt(var), 1e-12)
    assert table.df[0] == 1 and table.df[len(ONE.criteria) * 3] == 0


def test_overall_is_weighted_mean_of_elements():
    spec = IndexSpec("w", 5, frozenset({4, 5}),
                     (ElementSpec("A", 1.0, ("a1", "a2")), ElementSpec("B", 3.0, ("b",))))
    table = estimate_indices(totals_from_rows([[5, 1, 5], [4, np.nan, 2]], spec))
    pa, pb = 2 / 3, 1 / 2
    assert_close(table.estimate, 100 * np.array([1, 0, pb, pa, pb, (pa + 3 * pb) / 4]), 1e-12)


def test_interval_conventions():
    ci = confidence_intervals(np.array([0.5, 0.0, 0.3, 0.99, np.nan]),
                              np.array([0.0, 0.0, 0.1, 0.2, np.nan]),
                              np.array([10, 10, 0, 10, 10]), np.array([50] * 5), method="wald")
    assert (ci.low[0], ci.high[0]) == (0.5, 0.5) and ci.flags[0] == ["se=0"]
    assert "p=0" in ci.flags[1]
    assert (ci.low[2], ci.high[2]) == (0.0, 1.0) and "df<1" in ci.flags[2]
    assert ci.high[3] > 1  # wald is not truncated
    assert np.isnan(ci.low[4])
    with pytest.raises(AnalysisError):
        confidence_intervals([0.5], [0.1], [3], [9], method="exact")
    with pytest.raises(AnalysisError):
        confidence_intervals([0.5], [0.1], [3], [9], level=1.5)


def test_wilson_interval_by_hand():
    p, se, df = 0.3, 0.05, 12
    ci = confidence_intervals([p], [se], [df], [100], method="wilson")
    from scipy import stats

    t = stats.t.ppf(0.975, df)
    m = p * (1 - p) / se**2
    centre = (p + t**2 / (2 * m)) / (1 + t**2 / m)
    half = t / (1 + t**2 / m) * np.sqrt(p * (1 - p) / m + t**2 / (4 * m**2))
    assert_close([ci.low[0], ci.high[0]], [centre - half, centre + half], 1e-12)


def test_reporting_rules_flag_and_suppress(designed, ref_spec):
    totals = make_totals(designed, ref_spec, by=("agency",))
    flagged = estimate_indices(totals)
    tiny = np.array([flagged.keys[g]["agency"] == "A06" for g in flagged.group])
    assert flagged.suppressed[tiny].all() and not flagged.suppressed[~tiny].any()
    assert np.isfinite(flagged.estimate[tiny & (flagged.n > 0)]).all()
    blanked = estimate_indices(totals, rules=ReportingRules(min_n=30, suppress=True))
    assert np.isnan(blanked.estimate[tiny]).all() and np.isnan(blanked.ci_low[tiny]).all()
    strict = estimate_indices(totals, rules=ReportingRules(min_n=0, max_cv=0.01))
    assert any("cv>0.01" in f for f in strict.flags)


def _aggregate_table(frame: pd.DataFrame, spec: IndexSpec) -> pd.DataFrame:
    """What the web app's SQL GROUP BY produces (module docstring of analysis.totals)."""
    d = frame.copy()
    cols = {"n": ("weight", "size"), "w": ("weight", "sum")}
    for k in spec.criteria:
        r = d[k]
        d[f"{k}__ws"] = d["weight"] * r.isin(sorted(spec.satisfied))
        d[f"{k}__wa"] = d["weight"] * r.notna()
        d[f"{k}__wr"] = d["weight"] * r.fillna(0)
        d[f"{k}__n"] = r.notna().astype(int)
        cols.update({f"{k}__{s}": (f"{k}__{s}", "sum") for s in ("ws", "wa", "wr", "n")})
    for e in spec.elements:
        d[f"{e.code}__n"] = d[list(e.criteria)].notna().any(axis=1).astype(int)
        cols[f"{e.code}__n"] = (f"{e.code}__n", "sum")
    d["OVERALL__n"] = d[list(spec.criteria)].notna().any(axis=1).astype(int)
    cols["OVERALL__n"] = ("OVERALL__n", "sum")
    return d.groupby(["agency", "stratum", "psu"], as_index=False).agg(**cols)


def test_aggregate_table_gives_the_same_results_as_rows(designed, ref_spec):
    table = _aggregate_table(designed, ref_spec)
    from_rows = estimate_indices(make_totals(designed, ref_spec, by=("agency",)), measure="both")
    from_table = estimate_indices(totals_from_table(table, ref_spec, by=["agency"]),
                                  measure="both")
    assert from_rows.records() == from_table.records() or np.allclose(
        from_rows.se, from_table.se, rtol=1e-12, equal_nan=True)
    assert_close(from_table.estimate[np.isfinite(from_table.estimate)],
                 from_rows.estimate[np.isfinite(from_rows.estimate)], 1e-12)
    assert (from_rows.df == from_table.df).all() and (from_rows.n == from_table.n).all()
    with pytest.raises(AnalysisError, match="lacks columns"):
        totals_from_table(table.drop(columns=["E1_1__wr"]), ref_spec, by=["agency"])


def test_bad_rows_are_refused():
    with pytest.raises(AnalysisError):
        totals_from_rows([[6.0]], ONE)
    with pytest.raises(AnalysisError):
        totals_from_rows([[4.0]], ONE, weight=[0.0])
    with pytest.raises(AnalysisError):
        IndexSpec("x", 5, frozenset({6}), (ElementSpec("E", 1.0, ("k",)),))


def test_fast_json_encoder_equals_records(designed, ref_spec):
    import json

    table = estimate_indices(make_totals(designed, ref_spec, by=("agency", "period")),
                             measure="both", ci_method="korn-graubard")
    assert json.loads(table.results_json()) == table.records()


def test_poststratified_aggregate_table_equals_rows(designed, ref_spec, results):
    from analysis import poststratify, read_population

    pop = read_population(results / "population.csv", ["agency"])
    rows = make_totals(designed, ref_spec, by=("agency",), calibration=("agency",))
    table = totals_from_table(_aggregate_table(designed, ref_spec), ref_spec, by=["agency"],
                              calibration=["agency"])
    out = []
    for totals in (rows, table):
        cal = poststratify(totals, pop, ["agency"])
        out.append(estimate_indices(cal.apply(totals), calibration=cal))
    ok = np.isfinite(out[0].se)
    assert_close(out[1].estimate[ok], out[0].estimate[ok], 1e-12)
    assert_close(out[1].se[ok], out[0].se[ok], 1e-10)


def test_empty_group_value_is_its_own_null_group():
    totals = totals_from_rows([[5.0], [1.0], [4.0]], ONE, by={"svc": ["a", None, "a"]})
    keys = estimate_indices(totals).keys
    assert {"svc": None} in keys and {"svc": "a"} in keys


def test_rank_is_reproducible_with_a_seeded_generator(designed, ref_spec):
    from analysis import rank_groups

    totals = make_totals(designed, ref_spec, by=("agency",))
    a = rank_groups(totals, "OVERALL", np.random.default_rng(7), draws=500)
    b = rank_groups(totals, "OVERALL", np.random.default_rng(7), draws=500)
    assert (a.rank_low == b.rank_low).all() and (a.rank_high == b.rank_high).all()
    assert list(a.rank) == list(np.argsort(np.argsort(-a.estimate)) + 1)


def test_flags_from_masks_keep_the_order_of_the_masks():
    from analysis.intervals import flags_from_masks

    masks = [("a", np.array([1, 0, 1, 0], bool)), ("b", np.array([0, 0, 1, 1], bool)),
             ("c", np.array([1, 0, 0, 1], bool))]
    assert flags_from_masks(masks, 4) == [("a", "c"), (), ("a", "b"), ("b", "c")]
    assert flags_from_masks([], 2) == [(), ()]
