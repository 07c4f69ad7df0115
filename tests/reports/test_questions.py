"""Every collected question reported: the shares the page shows equal analysis.proportions on the rows."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sqlalchemy import select

from analysis.proportions import ProportionCells, estimate_proportions
from app.extensions import db
from app.models import Response
from app.services.questionnaires.versions import latest_published, questionnaire_of, rating_slots
from app.services.reports import estimates as rs
from app.services.reports import questions

PERIOD = {"start": "2025-01", "end": "2025-12"}
LABELS = {"_title": "Channel", "qr": "QR"}


def _row_shares(rows, questionnaire, stats, group):
    """The shares from one row per response, computed in Python from the ORM's rows."""
    slots = rating_slots(questionnaire)
    low = min(questionnaire.scale.satisfied)
    y, x = np.zeros((len(rows), len(stats))), np.zeros((len(rows), len(stats)))
    for i, r in enumerate(rows):
        for j, s in enumerate(stats):
            if s.kind == "likert":
                v = getattr(r, f"r{slots[s.code]}")
                x[i, j], y[i, j] = v is not None, v is not None and v >= low
            elif s.kind == "channel":
                x[i, j], y[i, j] = 1, r.channel == s.value
            elif s.kind == "verified":
                x[i, j], y[i, j] = 1, r.verified
            else:
                answer = (r.answers or {}).get(s.code)
                x[i, j] = bool(answer)
                y[i, j] = bool(answer) and (s.value in answer if s.kind == "multi" else answer == s.value)
    stratum = [r.stratum or "-" for r in rows]
    psu = [r.psu or f"#{r.id}" for r in rows]
    weight = [r.weight or 1.0 for r in rows]
    cells = ProportionCells.from_rows(stratum, psu, weight, group, y, x, [s.key for s in stats])
    labels = sorted(set(group))
    return {(labels[r["group"]], r["code"]): r for r in estimate_proportions(cells, rules=rs.RULES)}


def _responses():
    version = latest_published("sipas-2017")
    rows = db.session.scalars(select(Response).where(Response.version_id == version.id,
                                                     Response.suspicious.is_(False))).all()
    return questionnaire_of(version), rows


def _assert_same(record, want):
    assert record["n"] == want["n"] and record["df"] == want["df"] and record["flags"] == want["flags"]
    for name in ("estimate", "se", "ci_low", "ci_high"):
        if want[name] is None:
            assert record[name] is None
        else:
            assert record[name] == pytest.approx(want[name], rel=1e-9, abs=1e-12)


def test_scope_shares_equal_analysis_on_the_rows(province):
    questionnaire, rows = _responses()
    stats = questions.statistics(questionnaire)
    kinds = {s.kind for s in stats}
    assert {"likert", "single", "multi", "channel", "verified"} <= kinds
    filters = rs.ReportFilters(**PERIOD)
    report = questions.build_questions(province.province.id, filters, "en", LABELS, "Verified")
    group = ["cur" if r.submitted_at.year == 2025 else "out" for r in rows]
    want = _row_shares(rows, questionnaire, stats, group)
    got = {f"{i['code']}:satisfied": i["record"] for i in report.items}
    for choice in report.choices:
        got |= {f"{choice['code']}:{o['value']}": o["record"] for o in choice["options"]}
    assert {"OVERALL:satisfied", "E1_GEN:satisfied", "E5_GEN:satisfied"} <= set(got)
    assert any(k.startswith("EXPECT:") for k in got) and any(k.startswith("GENDER:") for k in got)
    for key, record in got.items():
        _assert_same(record, want[("cur", key)])
    # the expectations are ranked by share, the shares are of those who answered
    expect = report.expectations[0]
    shares = [o["record"]["estimate"] for o in expect["options"]]
    assert shares == sorted(shares, reverse=True) and [o["rank"] for o in expect["options"]][:2] == [1, 2]
    answered = sum(1 for r in rows if (r.answers or {}).get("EXPECT"))
    assert expect["n"] == answered
    assert report.responses == len(rows)
    verified = next(p for p in report.profile if p["code"] == "verified")["options"][0]["record"]
    _assert_same(verified, want[("cur", "verified:1")])


def test_a_channel_filter_is_a_domain_and_units_are_domains(province):
    questionnaire, rows = _responses()
    stats = questions.statistics(questionnaire)
    filters = rs.ReportFilters(channel="qr", **PERIOD)
    report = questions.build_questions(province.province.id, filters, "en", LABELS, "Verified")
    want = _row_shares(rows, questionnaire, stats, ["in" if r.channel == "qr" else "out" for r in rows])
    overall = next(i for i in report.items if i["code"] == "OVERALL")["record"]
    _assert_same(overall, want[("in", "OVERALL:satisfied")])
    # per unit: the district's share equals the rows labelled by their district
    unit = next(u for u in report.units if u["code"] == "DEMO-H01")
    tree = rs.load_tree()
    labels = ["H01" if r.channel == "qr" and tree.unit_of(r.agency_id, province.province.id, None)
              == province.district.id else "out" for r in rows]
    want = _row_shares(rows, questionnaire, stats, labels)
    _assert_same(unit["record"], want[("H01", "OVERALL:satisfied")])
    assert report.months and all(m["month"].startswith("2025-") for m in report.months)


@pytest.mark.parametrize("lang, words", [
    ("vi", ["Câu hỏi khác", "Mong muốn", "Nhìn chung, Ông/Bà hài lòng"]),
    ("en", ["Other questions", "What would you most like the agency to improve", "Overall, how satisfied"]),
])
def test_questions_page_shows_the_shares(as_user, province, lang, words):
    client = as_user("province")
    response = client.get(f"/reports/questions?agency={province.province.id}&start=2025-01&end=2025-12"
                          f"&lang={lang}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for word in words:
        assert word in html
    report = questions.build_questions(province.province.id, rs.ReportFilters(**PERIOD), lang, LABELS, "V")
    overall = next(i for i in report.items if i["code"] == "OVERALL")["record"]
    assert f"{overall['estimate']:.2f}" in html and f"{overall['ci_low']:.2f}" in html
    top = report.expectations[0]["options"][0]
    assert re.search(rf"{re.escape(top['label'])}.*?{top['record']['estimate']:.2f}", html, re.S)


def test_questions_page_is_scope_checked(as_user, province):
    client = as_user("district")
    assert client.get(f"/reports/questions?agency={province.other_district.id}").status_code in (403, 404)
    for query in ("agency=abc", "start=2025-13", f"agency={province.district.id}&channel=%00"):
        status = client.get(f"/reports/questions?{query}").status_code
        assert status == client.get(f"/reports/overview?{query}").status_code and status < 500
