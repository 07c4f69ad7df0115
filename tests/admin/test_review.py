"""Review of responses (issue 17, part 1): the filtered list, a response in words, void with a reason
(out of reports, report cells and exports at once; audited; restorable by an administrator only),
a flagged response confirmed, and scope."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, ReportCell, Response, Service
from app.models.report_cell import ReportCellsBuilt
from app.services.exchange.responses_csv import ExportFilter, export_rows, import_responses
from app.services.questionnaires.versions import load_standard_questionnaires
from app.services.reports import api_indices, cells
from app.services.reports import estimates as rs
from tests.admin.conftest import login_as

HEADER = ("response_id,survey,survey_version,agency,service_point,service,channel,submitted_at,"
          "suspicious,E1_1,E2_1,E3_1,E4_1,E5_1,OVERALL,COMMENT\n")
ROWS = [
    "r-1,sipas-short,1,X1,X1-Q1,S1,qr,2025-05-02T08:30:00+07:00,no,5,5,5,5,5,5,Rất tốt\n",
    "r-2,sipas-short,1,X1,X1-Q1,S1,qr,2025-05-03T08:30:00+07:00,no,5,4,4,4,4,4,\n",
    "r-3,sipas-short,1,X1,X1-Q1,S1,paper,2025-05-04T08:30:00+07:00,no,4,4,4,4,4,4,nhanh gọn\n",
    "r-4,sipas-short,1,X1,X1-Q1,S1,paper,2025-05-05T08:30:00+07:00,no,1,1,1,1,1,1,phiếu thử nghiệm\n",
    "r-5,sipas-short,1,D1,D1-Q1,S1,qr,2025-05-06T08:30:00+07:00,yes,2,2,2,2,2,2,outside\n",
]


@pytest.fixture
def responses(tree):
    """Five responses of May 2025: four at commune X1 (one a test entry), one flagged at D1."""
    # The reports' in-memory caches are keyed by MAX(id)s, which repeat from one test's empty tables
    # to the next.
    rs.invalidate()
    load_standard_questionnaires()
    db.session.add(Service(code="S1", name_vi="Dịch vụ", name_en="Service", active=True))
    db.session.commit()
    report = import_responses(io.StringIO(HEADER + "".join(ROWS), newline=""), "r.csv")
    assert report.ok, report.errors
    db.session.commit()
    return {r.uid: r for r in db.session.scalars(select(Response))}


def _e1_share(root_id: int) -> float:
    """The share satisfied with criterion E1_1 at an agency in May 2025, through the report cells."""
    filters = rs.ReportFilters.from_args({"questionnaire": "sipas-short", "start": "2025-05",
                                          "end": "2025-05"})
    records = api_indices(root_id, filters, "")["results"]
    return next(r for r in records if r["code"] == "E1_1")["estimate"]


def _cell_count(version_id: int) -> int:
    return int(db.session.scalar(select(func.sum(ReportCell.n)).where(ReportCell.version_id == version_id)))


def test_list_filters_pages_and_scope(client, tree, responses):
    login_as(client, tree.users["manager"])  # the district H1: X1's responses, not D1's
    page = client.get("/admin/responses/list?lang=en").get_data(as_text=True)
    assert "4 responses" in page and "outside" not in page
    paper = client.get("/admin/responses/list?lang=en&channel=paper").get_data(as_text=True)
    assert "2 responses" in paper
    # Case folds for ASCII letters everywhere (SQLite's LIKE folds no other letter; PostgreSQL's ILIKE does).
    words = client.get("/admin/responses/list?lang=en&q=THử nghiệm").get_data(as_text=True)
    assert "1 response" in words and f'/admin/responses/{responses["r-4"].id}"' in words
    days = client.get("/admin/responses/list?lang=en&from=2025-05-03&to=2025-05-04").get_data(as_text=True)
    assert "2 responses" in days
    assert client.get(f"/admin/responses/list?agency={tree.department.id}").status_code == 403
    assert client.get(f"/admin/responses/{responses['r-5'].id}").status_code == 403
    login_as(client, tree.users["administrator"])
    flagged = client.get("/admin/responses/list?lang=en&flagged=yes").get_data(as_text=True)
    assert "1 response" in flagged and f'/admin/responses/{responses["r-5"].id}"' in flagged
    paged = client.get("/admin/responses/list?lang=en&page=99").get_data(as_text=True)
    assert "5 responses" in paged  # a page past the end shows the last one


def test_a_response_in_words(client, tree, responses):
    login_as(client, tree.users["manager"])
    html = client.get(f"/admin/responses/{responses['r-1'].id}?lang=vi").get_data(as_text=True)
    assert "Rất tốt" in html and "5 – " in html and "Quầy X1-Q1" in html
    en = client.get(f"/admin/responses/{responses['r-2'].id}?lang=en").get_data(as_text=True)
    assert "not answered" in en  # the empty comment


def test_void_takes_the_response_out_of_cells_reports_and_exports_and_restore_puts_it_back(
        client, tree, responses):
    version_id = responses["r-4"].version_id
    assert _e1_share(tree.commune.id) == pytest.approx(75.0)  # 3 of 4 satisfied
    assert db.session.get(ReportCellsBuilt, version_id) is not None
    assert _cell_count(version_id) == 5
    login_as(client, tree.users["manager"])
    url = f"/admin/responses/{responses['r-4'].id}"
    empty = client.post(url + "/void?lang=en", data={"reason": "  "}, follow_redirects=True)
    assert "Give the reason" in empty.get_data(as_text=True)
    assert db.session.get(Response, responses["r-4"].id).voided_at is None
    done = client.post(url + "/void?lang=vi", data={"reason": "Phiếu thử nghiệm của cán bộ"},
                       follow_redirects=True)
    assert "Phiếu thử nghiệm của cán bộ" in done.get_data(as_text=True)
    db.session.expire_all()
    voided = db.session.get(Response, responses["r-4"].id)
    assert voided.voided_at is not None and voided.voided_by == tree.users["manager"].id
    # Out of the cells (and so of the index) at once, and out of the export.
    assert _cell_count(version_id) == 4
    assert _e1_share(tree.commune.id) == pytest.approx(100.0)
    uids = [row[0] for row in list(export_rows(ExportFilter("sipas-short", None, None, None), "UTC"))[1:]]
    assert "r-4" not in uids and "r-1" in uids
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "response.void"))
    assert event.target == "r-4" and event.detail["reason"] == "Phiếu thử nghiệm của cán bộ"
    # Not twice; not confirmed; and only an administrator restores it.
    again = client.post(url + "/void?lang=en", data={"reason": "again"}, follow_redirects=True)
    assert "already voided" in again.get_data(as_text=True)
    assert client.post(url + "/restore?lang=en", follow_redirects=True).status_code == 200
    db.session.expire_all()
    assert db.session.get(Response, responses["r-4"].id).voided_at is not None
    login_as(client, tree.users["administrator"])
    client.post(url + "/restore")
    db.session.expire_all()
    assert db.session.get(Response, responses["r-4"].id).voided_at is None
    assert _cell_count(version_id) == 5
    assert _e1_share(tree.commune.id) == pytest.approx(75.0)
    # A rebuild of the cells agrees with the running sums (voided responses are left out of it too).
    client.post(url + "/void", data={"reason": "duplicate"})
    sums = select(ReportCell.agency_id, ReportCell.psu, ReportCell.n, ReportCell.w)
    before = sorted(tuple(c) for c in db.session.execute(sums))
    cells.rebuild(version_id)
    after = sorted(tuple(c) for c in db.session.execute(sums))
    assert before == after


def test_confirm_a_flagged_response(client, tree, responses):
    flagged = responses["r-5"]
    root = tree.province.id
    without = _e1_share(root)  # the flagged D1 response is left out by default
    login_as(client, tree.users["administrator"])
    html = client.get(f"/admin/responses/{flagged.id}?lang=en").get_data(as_text=True)
    assert 'id="confirm-button"' in html
    client.post(f"/admin/responses/{flagged.id}/confirm")
    db.session.expire_all()
    assert db.session.get(Response, flagged.id).suspicious is False
    assert _e1_share(root) == pytest.approx(60.0) and without == pytest.approx(75.0)
    again = client.post(f"/admin/responses/{flagged.id}/confirm?lang=en", follow_redirects=True)
    assert "not flagged" in again.get_data(as_text=True)
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.target == "r-5")).all()
    assert actions == ["response.confirm"]
