"""Issue 15: the response rate over exactly the agency-months with volumes, anomalies apart; months and
date filters in TIMEZONE (06:30 local on a month's first day, 23:30 local on its last day); the current
month marked incomplete; small months not drawn as points on the trend."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Agency, DossierVolume, ReportCell, ReportCellsBuilt, Response
from app.services.questionnaires.versions import latest_published, questionnaire_of, rating_slots
from app.services.registry import coverage
from app.services.reports import cells as report_cells
from app.services.reports import charts, exports, pages
from app.services.reports import estimates as rs
from tests.admin.conftest import make_agency

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def _agency(code: str) -> Agency:
    return db.session.scalar(select(Agency).where(Agency.code == code))


def _times(agency_ids):
    """Submission times of the sipas-2017 responses (not suspicious) of some agencies."""
    return db.session.execute(select(Response.submitted_at).where(
        Response.agency_id.in_(agency_ids), Response.suspicious.is_(False),
        Response.version_id == latest_published("sipas-2017").id)).scalars().all()


def _local_month_counts(agency_ids, month: str) -> int:
    """Responses of the agencies whose submission falls in `month` in Ho Chi Minh City."""
    return sum(1 for when in _times(agency_ids) if when.astimezone(HCM).strftime("%Y-%m") == month)


def _period_total(agency_ids, start: str, end: str) -> int:
    return sum(1 for when in _times(agency_ids) if start <= when.astimezone(HCM).strftime("%Y-%m") <= end)


def _volume(code: str, month: date, dossiers: int) -> None:
    db.session.add(DossierVolume(agency_id=_agency(code).id, month=month, dossiers=dossiers))


def _text(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert match, element_id
    return match.group(1).strip()


def test_rate_divides_the_responses_of_exactly_the_agency_months_with_volumes(as_user, province):
    """The issue's reproduction: volumes for two agencies of one month only (2600.7 % before)."""
    _volume("DEMO-H01", date(2025, 12, 1), 1200)
    _volume("DEMO-H01-X01", date(2025, 12, 1), 340)
    db.session.commit()
    h01, x01 = _agency("DEMO-H01").id, _agency("DEMO-H01-X01").id
    covered = _local_month_counts([h01], "2025-12") + _local_month_counts([x01], "2025-12")
    assert covered > 0
    scope_ids = set(rs.load_tree().subtree(province.province.id))
    total = _period_total(scope_ids, "2025-01", "2025-12")

    data = pages.build_overview(province.province.id, rs.ReportFilters())
    assert (data.scope.start, data.scope.end) == ("2025-01", "2025-12")
    assert data.responses == total
    assert data.coverage.pairs == 2 and data.coverage.dossiers == 1540 and not data.coverage.anomalies
    assert data.coverage.covered_responses == covered
    assert data.response_rate == pytest.approx(100 * covered / 1540)
    assert data.coverage.share == pytest.approx(100 * covered / total)

    html = as_user("province").get("/reports/overview?lang=en").get_data(as_text=True)
    assert _text(html, "response-rate") == f"{100 * covered / 1540:.2f} %"
    assert f"{100 * covered / total:.2f} %" in _text(html, "coverage-share")
    printed = as_user("province").get("/reports/print?lang=en").get_data(as_text=True)
    assert f"{100 * covered / 1540:.2f} %" in printed
    for page in (html, printed):
        rates = [float(v) for v in re.findall(r"([0-9]+\.[0-9]+) %", page)]
        assert rates and max(rates) <= 100


def test_more_responses_than_dossiers_is_an_anomaly_not_a_rate(as_user, province):
    h02 = _agency("DEMO-H02").id
    n = _local_month_counts([h02], "2025-11")
    assert n >= 2
    _volume("DEMO-H02", date(2025, 11, 1), n - 1)
    _volume("DEMO-H01", date(2025, 12, 1), 1200)
    db.session.commit()
    data = pages.build_overview(province.province.id, rs.ReportFilters())
    assert [(a.agency_id, a.month, a.responses, a.dossiers) for a in data.coverage.anomalies] == [
        (h02, "2025-11", n, n - 1)]
    assert data.coverage.pairs == 1 and data.coverage.dossiers == 1200
    assert data.response_rate == pytest.approx(100 * _local_month_counts([_agency("DEMO-H01").id], "2025-12")
                                               / 1200)
    html = as_user("province").get("/reports/overview?lang=en").get_data(as_text=True)
    assert 'id="coverage-anomalies"' in html and "more responses than dossiers" in html
    agency_page = as_user("province").get(f"/reports/agencies/{province.province.id}?lang=en")
    assert agency_page.status_code == 200
    row = re.search(r"<tr><td>2025-11</td>(.*?)</tr>", agency_page.get_data(as_text=True), re.S).group(1)
    assert f"{n} responses, {n - 1} dossiers" in row


def test_pair_coverage_values():
    responses = {(1, "2025-01"): 10, (2, "2025-01"): 50, (3, "2025-01"): 40}
    dossiers = {(1, "2025-01"): 100, (2, "2025-01"): 20, (4, "2025-01"): 7}
    result = coverage.pair_coverage(responses, dossiers)
    assert (result.responses, result.covered_responses, result.dossiers, result.pairs) == (100, 10, 107, 2)
    assert result.rate == pytest.approx(100 * 10 / 107) and result.share == pytest.approx(10.0)
    assert [(a.agency_id, a.responses, a.dossiers) for a in result.anomalies] == [(2, 50, 20)]
    assert coverage.pair_coverage(responses, {}).rate is None


def _response(version, agency, when: datetime, uid: str, low: bool = False) -> Response:
    """A response answering every criterion (4), the first one 1 when `low`."""
    slots = sorted(set(rating_slots(questionnaire_of(version)).values()))
    ratings = {f"r{slot}": 4 for slot in slots} | {f"r{slots[0]}": 1 if low else 5}
    row = Response(uid=uid, version_id=version.id, agency_id=agency.id, channel="qr", submitted_at=when,
                   answers={"COMMENT": f"comment {uid}"} if low else {}, **ratings)
    db.session.add(row)
    db.session.flush()
    report_cells.add_response(version.id, row.id)
    return row


BOUNDARY = [
    ("first-0630", datetime(2025, 4, 1, 6, 30, tzinfo=HCM), "2025-04"),  # 2025-03-31 23:30 UTC
    ("last-2330", datetime(2025, 4, 30, 23, 30, tzinfo=HCM), "2025-04"),  # 2025-04-30 16:30 UTC
    ("may-0630", datetime(2025, 5, 1, 6, 30, tzinfo=HCM), "2025-05"),  # 2025-04-30 23:30 UTC
    ("march-2330", datetime(2025, 3, 31, 23, 30, tzinfo=HCM), "2025-03"),  # 2025-03-31 16:30 UTC
]


def test_months_and_date_filters_are_cut_in_timezone(app, province):
    """Cells, coverage, page counts, comments, distributions and the export agree on local months."""
    version = latest_published("sipas-2017")
    agency = make_agency("TZ-TEST", "commune", province.district)
    for uid, when, _month in BOUNDARY:
        _response(version, agency, when, f"tz-{uid}", low=True)
    db.session.commit()

    cells = dict(db.session.execute(select(ReportCell.month, func.sum(ReportCell.n))
                                    .where(ReportCell.agency_id == agency.id)
                                    .group_by(ReportCell.month)).all())
    assert cells == {"2025-03": 1, "2025-04": 2, "2025-05": 1}
    assert coverage.responses_by_agency_month([agency.id]) == {
        (agency.id, "2025-03"): 1, (agency.id, "2025-04"): 2, (agency.id, "2025-05"): 1}

    april = rs.ReportFilters(start="2025-04", end="2025-04")
    data = pages.build_overview(agency.id, april)
    assert data.responses == 2 and data.record("OVERALL")["n"] == 2
    scope = pages.open_scope(agency.id, april)
    assert {c.text for c in pages.list_comments(scope)} == {"comment tz-first-0630", "comment tz-last-2330"}
    assert sum(pages.rating_distribution(scope)[0]["counts"]) == 2
    assert pages.responses_by_pair(scope) == {(agency.id, "2025-04"): 2}
    text = "".join(exports.stream_responses_csv("TZ-TEST", april, "2025-04", "2025-04", "Asia/Ho_Chi_Minh"))
    uids = sorted(r["response_id"] for r in csv.DictReader(io.StringIO(text)))
    assert uids == ["tz-first-0630", "tz-last-2330"]

    # Another TIMEZONE: the cells are rebuilt with months cut there.
    app.config["TIMEZONE"] = "UTC"
    try:
        assert report_cells.ensure_built(version.id) is True
        assert db.session.get(ReportCellsBuilt, version.id).timezone == "UTC"
        cells = dict(db.session.execute(select(ReportCell.month, func.sum(ReportCell.n))
                                        .where(ReportCell.agency_id == agency.id)
                                        .group_by(ReportCell.month)).all())
        assert cells == {"2025-03": 2, "2025-04": 2}
    finally:
        app.config["TIMEZONE"] = "Asia/Ho_Chi_Minh"
    assert report_cells.ensure_built(version.id) is True
    assert db.session.get(ReportCellsBuilt, version.id).timezone == "Asia/Ho_Chi_Minh"


def test_a_zone_with_daylight_saving_cuts_months_in_sqlite_and_postgresql(app, province):
    """Europe/Berlin (no fixed offset): 00:30 local on 1 April is 22:30 UTC on 31 March."""
    version = latest_published("sipas-2017")
    app.config["TIMEZONE"] = "Europe/Berlin"
    try:
        report_cells.ensure_built(version.id)
        agency = make_agency("TZ-DST", "commune", province.district)
        _response(version, agency, datetime(2025, 4, 1, 0, 30, tzinfo=ZoneInfo("Europe/Berlin")), "dst-1")
        _response(version, agency, datetime(2025, 1, 31, 23, 30, tzinfo=ZoneInfo("Europe/Berlin")), "dst-2")
        db.session.commit()
        months = dict(db.session.execute(select(ReportCell.month, func.sum(ReportCell.n))
                                         .where(ReportCell.agency_id == agency.id)
                                         .group_by(ReportCell.month)).all())
        assert months == {"2025-04": 1, "2025-01": 1}
    finally:
        app.config["TIMEZONE"] = "Asia/Ho_Chi_Minh"


def test_current_month_is_marked_incomplete_and_small_months_are_not_points(as_user, province):
    version = latest_published("sipas-2017")
    now = datetime.now(UTC)
    for i in range(2):
        _response(version, province.district, now, f"now-{i}")
    db.session.commit()
    this_month = now.astimezone(HCM).strftime("%Y-%m")
    data = pages.build_overview(province.province.id, rs.ReportFilters(start="2025-01", end=this_month))
    assert data.incomplete
    last = data.trend[-1]
    assert last["month"] == this_month and last["n"] == 2 and last["suppressed"]
    figure = charts.trend_figure(data.trend, str, this_month)
    line = next(t for t in figure["data"] if t.get("mode") == "lines+markers")
    assert line["x"][-1] == this_month and line["y"][-1] is None  # a gap, not a point at 50
    hollow = next(t for t in figure["data"] if t.get("meta") == "small")
    assert list(hollow["x"]) == [this_month] and hollow["marker"]["symbol"] == "circle-open"
    assert list(hollow["y"]) == [last["estimate"]] and last["estimate"] is not None
    assert list(hollow["error_y"]["array"]) == [last["ci_high"] - last["estimate"]]
    assert "fewer than 30" in hollow["name"].lower()
    html = as_user("province").get(f"/reports/overview?lang=en&start=2025-01&end={this_month}")
    body = html.get_data(as_text=True)
    assert 'id="period-incomplete"' in body and "not complete" in body
