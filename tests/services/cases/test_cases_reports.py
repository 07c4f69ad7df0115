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


def test_a_manager_turns_a_comment_into_a_case(app, client, province):  # noqa: F811
    from sqlalchemy import select

    from app.models import AuditEvent
    from tests.admin.conftest import login_as, make_user

    manager = make_user("manager@example.org", "manager", province.district)
    db.session.commit()
    login_as(client, manager)
    page = client.get(f"/reports/comments?agency={province.district.id}&lang=en").get_data(as_text=True)
    assert 'class="inline case-from-comment"' in page and "Open a case" in page
    uid = page.split('name="response" value="', 1)[1].split('"', 1)[0]
    opened = client.post("/admin/cases/open", data={"response": uid})
    assert opened.status_code == 302
    case = db.session.scalar(select(Case))
    from app.services.registry.scope import subtree_ids

    assert case.source == "comment" and case.summary and case.agency_id in subtree_ids(province.district.id)
    assert opened.headers["Location"].endswith(f"/admin/cases/{case.id}")
    assert db.session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "case.open")) == \
        "manager@example.org"
    again = client.post("/admin/cases/open", data={"response": uid})
    assert again.status_code == 302 and db.session.scalar(select(func_count())) == 1
    # A leader reads reports but handles no cases: no button.
    login_as(client, province.users["district"])
    page = client.get(f"/reports/comments?agency={province.district.id}&lang=en").get_data(as_text=True)
    assert "case-from-comment" not in page


def func_count():
    from sqlalchemy import func

    return func.count(Case.id)
