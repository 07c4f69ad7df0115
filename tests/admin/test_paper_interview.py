"""Paper questionnaires and interviews (issue 17, part 3): the day, the enumerator and the mode on paper
entry and in the responses CSV; the reports count a paper form in the month it was answered."""

from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import ReportCell, Response
from app.services.exchange.responses_csv import ExportFilter, export_rows, import_responses
from app.services.reports import cells
from app.services.reports import estimates as rs
from tests.admin.conftest import login_as
from tests.admin.test_responses import _publish_short

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def test_paper_entry_dates_the_response_at_the_interview_and_keeps_who_and_how(client, tree):
    rs.invalidate()
    version = _publish_short(tree)
    cells.ensure_built(version.id)  # the cells exist: the interview's day moves the response's cell
    login_as(client, tree.users["manager"])
    url = f"/admin/responses/paper?counter_id={tree.counter_in.id}&lang=vi"
    page = client.get(url).get_data(as_text=True)
    assert 'name="interview_date"' in page and "Phỏng vấn trực tiếp" in page
    form = {"counter_id": tree.counter_in.id, "nonce": "n" * 22, "E1_1": "5", "E2_1": "4", "OVERALL": "4",
            "interview_date": "2025-03-15", "enumerator": "Nguyễn  Văn A", "interview_mode": "face"}
    for bad, field in (({"interview_date": "2999-01-01"}, "interview_date"),
                       ({"interview_date": "15/03/2025"}, "interview_date"),
                       ({"interview_mode": "fax"}, "interview_mode"),
                       ({"enumerator": "x" * 70}, "enumerator")):
        refused = client.post("/admin/responses/paper?lang=en", data={**form, **bad})
        assert refused.status_code == 200 and f'id="{field}"' in refused.get_data(as_text=True)
        assert db.session.scalar(select(Response)) is None, bad
    saved = client.post("/admin/responses/paper?lang=en", data=form)
    assert saved.status_code == 302
    # The next blank form keeps the day, the enumerator and the mode.
    location = saved.headers["Location"]
    assert "interview_date=2025-03-15" in location and "interview_mode=face" in location
    response = db.session.scalar(select(Response))
    assert response.interview_date == date(2025, 3, 15)
    assert response.enumerator == "Nguyễn Văn A" and response.interview_mode == "face"
    assert response.submitted_at.astimezone(ZONE) == datetime(2025, 3, 15, 12, 0, tzinfo=ZONE)
    assert response.received_at.astimezone(ZONE).date() != date(2025, 3, 15)  # typed in today
    # The report cells count it in March 2025, once.
    months = db.session.execute(select(ReportCell.month, ReportCell.n)
                                .where(ReportCell.version_id == version.id)).all()
    assert months == [("2025-03", 1)]
    # The export writes the three columns.
    header, row = list(export_rows(ExportFilter("sipas-short", None, None, None), "Asia/Ho_Chi_Minh"))
    assert row[header.index("interview_date")] == "2025-03-15"
    assert row[header.index("enumerator")] == "Nguyễn Văn A" and row[header.index("interview_mode")] == "face"
    assert row[header.index("submitted_at")] == "2025-03-15T12:00:00+07:00"


HEADER = "response_id,survey,agency,channel,submitted_at,interview_date,enumerator,interview_mode,E1_1\n"


def test_csv_import_reads_the_interview_columns(tree):
    _publish_short(tree)
    good = ("i-1,sipas-short,X1,paper,,2025-04-02,Lê B,self,5\n"
            "i-2,sipas-short,X1,paper,2025-04-03T09:00:00+07:00,2025-04-03,,phone,4\n"
            "i-3,sipas-short,X1,qr,2025-04-03T09:00:00+07:00,,,,3\n")
    report = import_responses(io.StringIO(HEADER + good, newline=""), "i.csv")
    assert report.ok, report.errors
    db.session.commit()
    stored = {r.uid: r for r in db.session.scalars(select(Response))}
    assert stored["i-1"].submitted_at.astimezone(ZONE) == datetime(2025, 4, 2, 12, tzinfo=ZONE)
    assert stored["i-1"].enumerator == "Lê B" and stored["i-1"].interview_mode == "self"
    assert stored["i-2"].interview_date == date(2025, 4, 3) and stored["i-3"].interview_date is None
    bad = ("j-1,sipas-short,X1,paper,2025-04-04T09:00:00+07:00,2025-04-03,,,5\n"
           "j-2,sipas-short,X1,paper,,2025-13-01,,,5\n"
           "j-3,sipas-short,X1,paper,,,,fax,5\n")
    report = import_responses(io.StringIO(HEADER + bad, newline=""), "j.csv")
    assert not report.ok
    text = "\n".join(report.errors)
    assert "row 2, column submitted_at: falls on another day than interview_date 2025-04-03" in text
    assert "row 3, column interview_date: expected a day like 2025-06-30" in text
    assert "row 4, column interview_mode: 'fax' is not one of self, face, phone" in text
