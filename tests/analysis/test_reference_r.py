"""The CLI reproduces R's survey package (tests/analysis/results/reference.R) to 1e-6.

The reference numbers come from svyratio / svyciprop / postStratify /
calibrate / svyby + svycontrast on designed.csv: five strata (one with a
single PSU), shared PSUs, unequal weights, missing answers, a tiny agency.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.compare import compare_groups, compare_to_all

from .conftest import assert_close, make_totals, records_frame

RTOL = 1e-6
METHODS = {"logit": "logit", "wald": "wald", "wilson": "wilson", "korn-graubard": "kg"}


@pytest.fixture(scope="module")
def reference(results) -> pd.DataFrame:
    return pd.read_csv(results / "reference.csv")


def _cli(run_cli, results, *extra):
    status, payload, err = run_cli("indices", str(results / "designed.csv"), "--questionnaire",
                                   str(results / "ref-survey.yaml"), *extra)
    assert status == 0, err
    return records_frame(payload)


@pytest.mark.parametrize("method", list(METHODS))
def test_indices_intervals_match_r(run_cli, results, reference, method):
    whole = _cli(run_cli, results, "--measure", "both", "--ci-method", method)
    by = _cli(run_cli, results, "--measure", "both", "--ci-method", method, "--by", "agency")
    got = pd.concat([whole, by]).merge(reference, on=["group", "code", "measure"],
                                       suffixes=("", "_r"))
    assert len(got) == len(reference) == 2 * 11 * 6
    assert_close(got["estimate"] / 100, got["estimate_r"], RTOL)
    assert_close(got["se"] / 100, got["se_r"], RTOL)
    col = METHODS[method]
    assert_close(got["ci_low"] / 100, got[f"{col}_low"], RTOL)
    assert_close(got["ci_high"] / 100, got[f"{col}_high"], RTOL)
    assert (got["n"] == got["n_r"]).all()
    assert (got["df"] == got["df_r"]).all()


def test_tiny_agency_matches_r_and_empty_criterion_is_null(run_cli, results):
    by = _cli(run_cli, results, "--by", "agency")
    tiny = by[by["group"] == "A06"].set_index("code")
    ref = pd.read_csv(results / "reference_tiny.csv").set_index("code")
    assert_close(tiny.loc[ref.index, "estimate"] / 100, ref["estimate"], RTOL)
    # one PSU: the se is zero; R's rounding leaves ~1e-17
    assert_close(tiny.loc[ref.index, "se"] / 100, ref["se"], RTOL, atol=1e-12)
    assert (tiny["df"] == ref["df"].iloc[0]).all()
    for code in ("E3_2",):
        row = tiny.loc[code]
        assert pd.isna(row["estimate"]) and pd.isna(row["se"]) and "empty" in row["flags"]
    assert all("df<1" in f for f in tiny.loc[ref.index, "flags"])
    assert all(f"n<{30}" in f for f in tiny["flags"])


@pytest.mark.parametrize("analysis", ["poststratify", "rake"])
def test_calibrated_estimates_match_r(run_cli, results, analysis):
    pop = str(results / "population.csv")
    if analysis == "poststratify":
        extra = ["--poststratify-by", "agency", "--population", pop]
    else:
        extra = ["--rake", f"agency={pop}", "--rake",
                 f"channel={results / 'population_channel.csv'}"]
    ref = pd.read_csv(results / "reference_calibrated.csv")
    ref = ref[ref["analysis"] == analysis]
    got = pd.concat([_cli(run_cli, results, *extra), _cli(run_cli, results, "--by", "agency",
                                                           *extra)])
    got = got.merge(ref, on=["group", "code"], suffixes=("", "_r"))
    assert len(got) == len(ref) == 4 * 11
    assert_close(got["estimate"] / 100, got["estimate_r"], RTOL)
    assert_close(got["se"] / 100, got["se_r"], RTOL)


def test_calibrated_weights_match_r(results, designed, ref_spec):
    from analysis.io import read_population
    from analysis.weighting import poststratify, rake

    totals = make_totals(designed, ref_spec, by=("agency", "channel"),
                         calibration=("agency", "channel"))
    ref = pd.read_csv(results / "reference_weights.csv")
    pop = read_population(results / "population.csv", ["agency"])
    popc = read_population(results / "population_channel.csv", ["channel"])
    for cal, col in ((poststratify(totals, pop, ["agency"]), "ps"),
                     (rake(totals, [(["agency"], pop), (["channel"], popc)]), "rake")):
        labels = dict(zip(zip(*totals.calib_labels, strict=True), cal.factor, strict=True))
        factor = [labels[(a, c)] for a, c in zip(designed["agency"], designed["channel"],
                                                  strict=True)]
        assert_close(designed["weight"] * factor, ref[col], RTOL)


def test_differences_match_r(results, designed, ref_spec):
    from analysis import poststratify, read_population

    ref = pd.read_csv(results / "reference_diff.csv")
    by_agency = make_totals(designed, ref_spec, by=("agency",), calibration=("agency",))
    by_period = make_totals(designed, ref_spec, by=("period",))
    cal = poststratify(by_agency, read_population(results / "population.csv", ["agency"]),
                       ["agency"])
    calibrated = cal.apply(by_agency)
    found = {
        "A01-A02": compare_groups(by_agency, [("A01", "A02")]),
        "2026-2025": compare_groups(by_period, [("2026", "2025")]),
        "A01-ALL": compare_to_all(by_agency),
        "A01-A02 poststratified": compare_groups(calibrated, [("A01", "A02")], calibration=cal),
        "A01-ALL poststratified": compare_to_all(calibrated, calibration=cal),
    }
    assert set(ref["contrast"]) == set(found)
    for _, r in ref.iterrows():
        diff = found[r["contrast"]]
        j = diff.codes.index(r["code"])
        assert_close(diff.estimate[0, j] / 100, r["estimate"], RTOL)
        assert_close(diff.se[0, j] / 100, r["se"], RTOL)
