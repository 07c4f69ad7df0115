"""Cases on the report pages (issue 18): beside element 5 on the overview, in the PDF report, and the
on-time answer rate on the public scoreboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.extensions import db
from app.models import Case
from tests.reports.conftest import as_user, province  # noqa: F401 (fixtures)


def _case(agency, opened: datetime, answered_after: timedelta | None, due_after=timedelta(days=14),
          code="AAAA-BBBB-CCCC-DDD", rating=None):
    case = Case(code=code, agency_id=agency.id, source="request", opened_at=opened, due_at=opened + due_after,
                status="answered" if answered_after is not None else "new", updated_at=opened,
                answered_at=opened + answered_after if answered_after is not None else None,
                answer="Đã xử lý" if answered_after is not None else None, answer_rating=rating)
    db.session.add(case)
    return case


def test_overview_pdf_and_scoreboard_show_the_cases(app, client, province, as_user):  # noqa: F811
    opened = datetime(2025, 11, 10, 3, 0, tzinfo=UTC)
    _case(province.district, opened, timedelta(days=3), code="AAAA-BBBB-CCCC-DDD1", rating=5)
    _case(province.district, opened, timedelta(days=20), code="AAAA-BBBB-CCCC-DDD2", rating=2)
    _case(province.district, opened, None, code="AAAA-BBBB-CCCC-DDD3")
    _case(province.other_district, datetime(2024, 1, 5, tzinfo=UTC), timedelta(days=1),
          code="AAAA-BBBB-CCCC-DDD4")  # outside the period
    db.session.commit()
    as_user("province")
    page = client.get(f"/reports/overview?agency={province.province.id}&lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="table-cases"' in html
    table = html[html.index('id="table-cases"'):html.index("</table>", html.index('id="table-cases"'))]
    assert province.district.name_en in table and province.other_district.name_en not in table
    # opened 3, answered on time 1, overdue 1, on-time rate 1 of (2 answered + 1 overdue), median 11.5 days
    assert "<td>3</td><td>1</td><td>1</td><td>33.3 %</td><td>11.5</td><td>3.5 / 5 (n = 2)</td>" in table
    pdf = client.get(f"/reports/report.pdf?agency={province.province.id}&lang=en")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    app.config["PUBLIC_SCOREBOARD"] = True
    board = client.get("/reports/scoreboard?lang=en").get_data(as_text=True)
    assert 'id="cases-on-time"' in board and "33.3 %" in board
