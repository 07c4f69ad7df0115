"""analysis.proportions reproduces R's survey package (tests/analysis/results/reference_questions.R).

The numbers in reference_questions.csv come from svymean / svyby of each answer's
indicator on the respondents answering the question and svyciprop (logit and beta,
df = degf of the group) on designed_questions.csv: five strata (one with a single
PSU), PSUs shared by agencies, unequal weights, missing answers, a multi-choice
question, an option nobody in A05 chose and a tiny one-PSU agency (A06).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.proportions import ProportionCells, estimate_proportions
from analysis.reporting import ReportingRules

TOL = 1e-9
# R fits the logit interval iteratively (svyglm): it agrees to ~1e-9, the largest difference 1.03e-9.
INTERVAL_TOL = {"logit": 2e-9, "beta": TOL}
EXPECT = ["staff_attitude", "simpler_procedures", "processing_time", "facilities", "online_services"]


@pytest.fixture(scope="module")
def data(results) -> pd.DataFrame:
    return pd.read_csv(results / "designed_questions.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def reference(results) -> pd.DataFrame:
    return pd.read_csv(results / "reference_questions.csv")


def _indicators(d: pd.DataFrame):
    codes, ys, xs = [], [], []

    def add(code, answered, value):
        codes.append(code)
        xs.append(answered.astype(float))
        ys.append((answered & value).astype(float))

    for k in ("OVERALL", "E1_GEN"):
        rating = pd.to_numeric(d[k], errors="coerce")
        add(f"{k}:satisfied", rating.notna().to_numpy(), (rating >= 4).to_numpy())
    for v in ("m", "f"):
        add(f"GENDER:{v}", (d["GENDER"] != "").to_numpy(), (d["GENDER"] == v).to_numpy())
    for v in ("18-29", "30-44", "45-59", "60-plus"):
        add(f"AGE_GROUP:{v}", (d["AGE_GROUP"] != "").to_numpy(), (d["AGE_GROUP"] == v).to_numpy())
    chosen = d["EXPECT"].str.split(";")
    for v in EXPECT:
        add(f"EXPECT:{v}", (d["EXPECT"] != "").to_numpy(), chosen.map(lambda x, v=v: v in x).to_numpy())
    every = np.ones(len(d), dtype=bool)
    for v in ("qr", "kiosk", "paper"):
        add(f"channel:{v}", every, (d["channel"] == v).to_numpy())
    add("verified:1", every, (d["verified"] == "1").to_numpy())
    return codes, np.column_stack(ys), np.column_stack(xs)


def _ours(d: pd.DataFrame, by: str | None, method: str = "logit") -> pd.DataFrame:
    codes, y, x = _indicators(d)
    group = d[by].to_numpy() if by else np.full(len(d), "ALL")
    cells = ProportionCells.from_rows(d["stratum"], d["psu"], d["weight"].astype(float), group, y, x, codes)
    labels = np.unique(group.astype(str))
    records = estimate_proportions(cells, ci_method=method, rules=ReportingRules())
    frame = pd.DataFrame(records)
    frame["group"] = labels[frame["group"]]
    return frame


@pytest.mark.parametrize("method,column", [("logit", "logit"), ("korn-graubard", "beta")])
def test_proportions_match_r(data, reference, method, column):
    ours = pd.concat([_ours(data, by, method) for by in (None, "agency", "period")])
    got = ours.merge(reference, on=["group", "code"], suffixes=("", "_r"))
    assert len(got) == len(reference) == 9 * 17
    assert np.allclose(got["estimate"] / 100, got["estimate_r"], rtol=0, atol=TOL)
    assert np.allclose(got["se"] / 100, got["se_r"], rtol=0, atol=TOL)
    assert (got["n"] == got["n_r"]).all()
    assert (got["df"] == got["df_r"]).all()
    # R gives an interval where df >= 1 and the se is not zero; there ours must equal it
    usable = got[got[f"{column}_low"].notna() & (got["se_r"] > 1e-12)]
    assert len(usable) >= 7 * 17 - 2
    tol = INTERVAL_TOL[column]
    assert np.allclose(usable["ci_low"] / 100, usable[f"{column}_low"], rtol=0, atol=tol)
    assert np.allclose(usable["ci_high"] / 100, usable[f"{column}_high"], rtol=0, atol=tol)


def test_conventions_where_r_has_no_interval(data):
    ours = _ours(data, "agency").set_index(["group", "code"])
    # nobody in A05 chose online services: 0 with se 0 and the interval [0, 0]
    none = ours.loc[("A05", "EXPECT:online_services")]
    assert none["estimate"] == 0 and none["se"] == 0 and none["ci_low"] == none["ci_high"] == 0
    assert "se=0" in none["flags"] and "p=0" in none["flags"]
    # the tiny agency lies in one PSU: df 0, interval [0, 100], and n < 30 marks it unreportable
    tiny = ours.loc[("A06", "OVERALL:satisfied")]
    assert tiny["df"] == 0 and tiny["ci_low"] == 0 and tiny["ci_high"] == 100
    assert {"df<1", "n<30"} <= set(tiny["flags"]) and tiny["suppressed"]


def test_suppression_blanks_the_flagged(data):
    codes, y, x = _indicators(data)
    cells = ProportionCells.from_rows(data["stratum"], data["psu"], data["weight"].astype(float),
                                      data["agency"].to_numpy(), y, x, codes)
    records = estimate_proportions(cells, rules=ReportingRules(suppress=True))
    blank = [r for r in records if r["suppressed"]]
    assert blank and all(r["estimate"] is None and r["ci_low"] is None for r in blank)
    assert all(r["estimate"] is not None for r in records if not r["suppressed"])


def test_unanswered_statistic_is_empty():
    cells = ProportionCells.from_rows(["S"] * 4, ["1", "1", "2", "2"], [1.0] * 4, ["g"] * 4,
                                      np.array([[1, 0], [0, 0], [1, 0], [1, 0]]),
                                      np.array([[1, 0], [1, 0], [1, 0], [1, 0]]), ("a", "b"))
    a, b = estimate_proportions(cells)
    assert a["estimate"] == 75.0 and a["n"] == 4 and a["df"] == 1
    assert b["estimate"] is None and b["se"] is None and "empty" in b["flags"] and b["n"] == 0
