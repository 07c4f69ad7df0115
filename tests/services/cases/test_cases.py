"""Cases (issue 18): opening from the form, the citizen's page, the handlers' work, purge, exports."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Case, CaseContact, OutboxMessage, Response
from app.services.cases import purge_contacts
from app.services.cases.intake import AnswerRequest, normalise_code
from app.services.cases.sla import due_date
from tests.public.conftest import SHORT_ANSWERS, open_form, post_form

HAPPY = {**SHORT_ANSWERS, "q-E5_1": "4", "q-OVERALL": "5"}
CODE = re.compile(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}")


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_due_date_skips_the_weekend_in_the_platform_time_zone():
    # Friday 2026-12-04 20:00 in Hà Nội is 13:00 UTC; two working days later is Tuesday.
    opened = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
    due = due_date(opened, 2, "Asia/Ho_Chi_Minh")
    assert due.isoformat() == "2026-12-08T23:59:59+07:00"
    # 23:30 UTC on Friday is already Saturday in Hà Nội: Monday counts first.
    assert due_date(datetime(2026, 12, 4, 23, 30, tzinfo=UTC), 1, "Asia/Ho_Chi_Minh").day == 7
    assert due_date(opened, 10, "Asia/Ho_Chi_Minh").date().isoformat() == "2026-12-18"


def test_contact_checks_and_code_forms():
    assert AnswerRequest.read("1", "091 234 5678", "").phone == "0912345678"
    assert AnswerRequest.read("", "+84 912.345.678", "").wanted
    assert AnswerRequest.read("1", "12345", "").errors == {"answer_phone": "phone"}
    assert AnswerRequest.read("1", "", "not-an-address").errors == {"answer_email": "email"}
    assert AnswerRequest.read("", "", "").wanted is False
    assert normalise_code("abcd efgh jkmn pqrs") == "ABCD-EFGH-JKMN-PQRS"
    assert normalise_code("ABCD-EFGH-JKMN-PQR") is None
    assert normalise_code("../../etc/passwd") is None


def test_a_happy_response_opens_no_case(client, org):
    page = post_form(client, f"/s/{org.short.qr_token}", HAPPY)
    assert page.status_code == 303
    assert _count(Response) == 1 and _count(Case) == 0
    thanks = client.get(page.headers["Location"]).get_data(as_text=True)
    assert "case-code" not in thanks


def test_a_low_rating_opens_a_case_in_the_responses_transaction(client, org):
    page = post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "q-E3_1": "1"})
    assert page.status_code == 303
    case = db.session.scalar(select(Case))
    response = db.session.scalar(select(Response))
    assert case.source == "rating" and case.response_id == response.id and case.status == "new"
    assert "E3_1=1" in case.summary and "Cán bộ nhiệt tình" in case.summary
    assert case.agency_id == org.agency.id and case.service_point_id == org.short.id
    assert case.due_at == due_date(case.opened_at, 10, "Asia/Ho_Chi_Minh")  # CASE_SLA_WORKING_DAYS
    assert case.due_at > case.opened_at + timedelta(days=11)  # 10 working days span two weekends
    assert _count(CaseContact) == 0
    # The handler is told, by e-mail, through the outbox.
    message = db.session.scalar(select(OutboxMessage))
    assert message.kind == "email" and message.recipient == "handler@example.org"
    assert message.status == "pending" and case.code in message.subject
    thanks = client.get(page.headers["Location"]).get_data(as_text=True)
    assert case.code in thanks and f"/c/{case.code}" in thanks


def test_i_want_an_answer_with_contact_opens_a_case_and_keeps_the_contact_apart(client, org):
    page = post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_wanted": "1",
                                                          "answer_phone": "0912 345 678",
                                                          "answer_email": "citizen@example.vn"})
    assert page.status_code == 303
    case = db.session.scalar(select(Case))
    assert case.source == "request"
    contact = db.session.get(CaseContact, case.id)
    assert (contact.phone, contact.email) == ("0912345678", "citizen@example.vn")
    response = db.session.scalar(select(Response))
    assert "citizen@example.vn" not in str(response.answers) and "0912345678" not in str(response.answers)


def test_a_bad_phone_or_email_stores_nothing_and_keeps_the_answers(client, org):
    url = f"/s/{org.short.qr_token}"
    page = post_form(client, url, {**HAPPY, "answer_wanted": "1", "answer_phone": "12ab",
                                   "answer_email": "me@"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "Số điện thoại này không dùng được" in html and "Địa chỉ e-mail này không dùng được" in html
    assert 'value="12ab"' in html and 'value="me@"' in html and "Cán bộ nhiệt tình" in html
    assert 'name="answer_wanted" value="1" checked' in html
    # The error summary at the top links to both fields.
    assert 'href="#answer-phone"' in html and 'href="#answer-email"' in html
    assert _count(Response) == 0 and _count(Case) == 0
    english = post_form(client, url + "?lang=en", {**HAPPY, "answer_email": "x@y"})
    assert "This e-mail address cannot be used" in english.get_data(as_text=True)


def test_the_case_page_in_both_languages_and_404_for_unknown_or_malformed_codes(client, org):
    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_wanted": "1"})
    case = db.session.scalar(select(Case))
    vi = client.get(f"/c/{case.code}")
    assert vi.status_code == 200 and vi.headers["Cache-Control"] == "no-store"
    text = vi.get_data(as_text=True)
    assert case.code in text and "Đã tiếp nhận" in text and "Ủy ban nhân dân xã Thử" in text
    assert "Cán bộ nhiệt tình" not in text  # the summary is the handlers' only
    en = client.get(f"/c/{case.code.lower().replace('-', '')}?lang=en").get_data(as_text=True)
    assert "Received" in en and "Answer due by" in en and "Thu Commune" in en
    for bad in ("ABCD-EFGH-JKMN-PQRS", "nope", "x" * 300, "%00", "ABCD-EFGH-JKMN-PQR%C3%A9"):
        page = client.get(f"/c/{bad}")
        assert page.status_code in (404, 400), bad
    assert client.get("/c/ABCD-EFGH-JKMN-PQRS").status_code == 404
    assert "Không tìm thấy hồ sơ phản ánh" in client.get("/c/nope?lang=vi").get_data(as_text=True)


def test_handler_answers_citizen_rates_and_reopens_once(client, org, login):
    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_wanted": "1",
                                                   "answer_email": "citizen@example.vn"})
    case = db.session.scalar(select(Case))
    login(org.handler)
    inbox = client.get("/admin/cases").get_data(as_text=True)
    assert case.code in inbox
    page = client.post(f"/admin/cases/{case.id}/answer", data={"answer": "   "})
    assert page.status_code == 422 and db.session.get(Case, case.id).status == "new"
    page = client.post(f"/admin/cases/{case.id}/answer", data={"answer": "Chúng tôi đã xử lý."})
    assert page.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.status == "answered" and case.assignee_id == org.handler.id
    citizen_mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_citizen.is_(True)))
    assert citizen_mail.recipient == "citizen@example.vn" and "Chúng tôi đã xử lý." in citizen_mail.body
    public = client.get(f"/c/{case.code}").get_data(as_text=True)
    assert "Chúng tôi đã xử lý." in public
    assert client.post(f"/c/{case.code}/rate", data={"rating": "9"}).status_code == 422
    assert client.post(f"/c/{case.code}/rate", data={"rating": "4"}).status_code == 303
    assert client.post(f"/c/{case.code}/rate", data={"rating": "5"}).status_code == 409
    assert client.post(f"/c/{case.code}/reopen").status_code == 303
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.status == "reopened" and case.answer_rating == 4
    assert client.post(f"/c/{case.code}/reopen").status_code == 409  # once
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.target == case.code)))
    assert {"case.open", "case.answer", "case.rate_answer", "case.reopen"} <= actions


def test_contact_details_only_for_the_agencys_handlers_and_every_view_audited(client, org, login):
    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_phone": "0912345678"})
    case = db.session.scalar(select(Case))
    login(org.admin)
    assert client.get(f"/admin/cases/{case.id}").status_code == 200
    assert client.get(f"/admin/cases/{case.id}/contact").status_code == 403
    login(org.handler)
    page = client.get(f"/admin/cases/{case.id}/contact")
    assert page.status_code == 200 and "0912345678" in page.get_data(as_text=True)
    client.get(f"/admin/cases/{case.id}/contact")
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.contact_view")).all()
    assert [(v.actor, v.target) for v in views] == [("handler@example.org", case.code)] * 2
    assert "0912345678" not in client.get(f"/admin/cases/{case.id}").get_data(as_text=True)


def test_handler_of_another_agency_sees_nothing(client, org, login):
    from app.models import Agency
    from tests.admin.conftest import make_user

    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_wanted": "1"})
    case = db.session.scalar(select(Case))
    other = Agency(code="T02", name_vi="Xã Khác", name_en="Other", level="commune")
    db.session.add(other)
    db.session.flush()
    stranger = make_user("stranger@example.org", "handler", other)
    db.session.commit()
    login(stranger)
    assert case.code not in client.get("/admin/cases").get_data(as_text=True)
    assert client.get(f"/admin/cases/{case.id}").status_code == 404
    assert client.post(f"/admin/cases/{case.id}/close").status_code == 404
    assert client.get(f"/admin/cases/{case.id}/contact").status_code == 404


def test_bulk_assign_and_filters(client, org, login):
    for _ in range(3):
        post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_wanted": "1"})
    ids = list(db.session.scalars(select(Case.id).order_by(Case.id)))
    login(org.handler)
    page = client.post("/admin/cases/assign", data={"case": [str(i) for i in ids[:2]],
                                                     "assignee": str(org.handler.id)})
    assert page.status_code == 302
    db.session.expire_all()
    assert [db.session.get(Case, i).status for i in ids] == ["assigned", "assigned", "new"]
    listed = client.get("/admin/cases?status=new").get_data(as_text=True)
    assert listed.count('name="case"') == 1
    assert client.get("/admin/cases?overdue=1").get_data(as_text=True).count('name="case"') == 0


def test_purge_deletes_contacts_a_year_after_closing_only(app, client, org):
    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_email": "a@example.vn"})
    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_email": "b@example.vn"})
    old, recent = db.session.scalars(select(Case).order_by(Case.id)).all()
    from app.services.cases.handling import answer_case

    answer_case(old, "Đã xử lý.", org.handler)  # an e-mail to a@example.vn waits in the outbox
    db.session.commit()
    sent = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_citizen.is_(True)))
    sent.status = "sent"
    now = datetime.now(UTC)
    old.status, old.closed_at = "closed", now - timedelta(days=400)
    recent.status, recent.closed_at = "closed", now - timedelta(days=200)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["cases", "purge"])
    assert result.exit_code == 0 and "contacts_deleted=1 messages_cleared=1" in result.output
    db.session.expire_all()
    assert db.session.get(OutboxMessage, sent.id).recipient == ""
    assert db.session.get(CaseContact, old.id) is None
    assert db.session.get(CaseContact, recent.id).email == "b@example.vn"
    assert purge_contacts().contacts == 0


def test_contact_details_never_in_the_responses_export(app, client, org):
    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_phone": "0987654321",
                                                   "answer_email": "secret@example.vn"})
    assert _count(CaseContact) == 1
    result = app.test_cli_runner().invoke(args=["responses", "export", "--survey", "sipas-short"])
    assert result.exit_code == 0, result.output
    assert "Cán bộ nhiệt tình" in result.output  # the export has the response
    assert "0987654321" not in result.output and "secret@example.vn" not in result.output
    assert "answer_" not in result.output.splitlines()[0]
    # The leaders' download of the same CSV (what python -m analysis reads) has none either.
    from tests.admin.conftest import login_as, make_user

    leader = make_user("leader@example.org", "leader", org.agency)
    db.session.commit()
    login_as(client, leader)
    web = client.get(f"/reports/export/responses.csv?agency={org.agency.id}&questionnaire=sipas-short")
    text = web.get_data(as_text=True)
    assert web.status_code == 200 and "Cán bộ nhiệt tình" in text
    assert "0987654321" not in text and "secret@example.vn" not in text


def test_questionnaire_cases_key_is_checked():
    import pytest

    from analysis.errors import QuestionnaireError
    from analysis.questionnaire import parse_questionnaire
    from app.services.questionnaires.versions import latest_published, load_standard_questionnaires

    load_standard_questionnaires()
    definition = dict(latest_published("sipas-short").definition)
    with pytest.raises(QuestionnaireError, match="cases.overall_at_most"):
        parse_questionnaire({**definition, "cases": {"overall_at_most": 9}})
    with pytest.raises(QuestionnaireError, match="unknown key"):
        parse_questionnaire({**definition, "cases": {"overall_below": 2}})
    parsed = parse_questionnaire({**definition, "cases": {"any_criterion_at_most": 1}})
    assert parsed.cases == {"any_criterion_at_most": 1}
    assert parsed.definition["cases"] == {"any_criterion_at_most": 1}


def test_form_shows_the_answer_block_but_not_on_a_kiosk(client, org):
    assert 'name="answer_wanted"' in client.get(f"/s/{org.short.qr_token}").get_data(as_text=True)
    assert 'name="answer_wanted"' not in client.get(f"/k/{org.short.qr_token}").get_data(as_text=True)
    assert open_form(client, f"/s/{org.short.qr_token}")["version_id"] == str(org.cases_version.id)


def test_case_figures_per_agency_in_the_api(client, org):
    from app.services.accounts import issue_api_token

    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_wanted": "1"})
    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_wanted": "1"})
    late, on_time = db.session.scalars(select(Case).order_by(Case.id)).all()
    now = datetime.now(UTC)
    on_time.answered_at, on_time.status, on_time.answer_rating = now, "answered", 4
    late.due_at = now - timedelta(days=1)
    from tests.admin.conftest import make_user

    leader = make_user("leader@example.org", "leader", org.agency)
    token = issue_api_token(leader, org.admin)
    db.session.commit()
    assert client.get("/api/v1/cases").status_code == 401
    body = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"}).get_json()
    [row] = body["agencies"]
    figures = (row["agency"], row["opened"], row["answered"], row["on_time"], row["overdue"])
    assert figures == ("T01", 2, 1, 1, 1)
    assert row["on_time_rate"] == 50.0 and row["answer_satisfaction"] == 4 and row["median_days"] == 0.0
    bad = client.get("/api/v1/cases?from=2026-13-01", headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400


def test_an_overall_rating_at_the_threshold_opens_a_case_and_above_it_none(client, org):
    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "q-OVERALL": "3"})
    assert _count(Case) == 0
    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "q-OVERALL": "2"})
    case = db.session.scalar(select(Case))
    assert case.source == "rating" and "OVERALL=2" in case.summary
    # A kiosk's low rating opens a case too (the kiosk asks for no contact).
    post_form(client, f"/k/{org.short.qr_token}", {**HAPPY, "q-E1_1": "1"})
    assert _count(Case) == 2 and _count(CaseContact) == 0


def test_a_response_that_opens_no_case_costs_no_query_of_cases(client, org):
    from sqlalchemy import event

    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert post_form(client, f"/s/{org.short.qr_token}", HAPPY).status_code == 303
        quiet = [s for s in statements if "citizen_case" in s or "outbox_message" in s or "app_user" in s]
        statements.clear()
        post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_wanted": "1"})
        opened = [s for s in statements if "citizen_case" in s or "outbox_message" in s]
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert quiet == []
    assert opened  # the case and its notice were written
