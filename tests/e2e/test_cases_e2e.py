"""Issue 18 in headless Chromium: a citizen on a 360-px phone asks for an answer (a bad phone number first),
gets a case code, follows it in Vietnamese and English; a handler answers from the inbox; the citizen reads
the answer, rates it and reopens the case; an unknown code is a 404 page. Screenshots: /tmp/cases-*.png."""

from __future__ import annotations

import copy
from pathlib import Path

from sqlalchemy import select

from analysis.questionnaire import parse_questionnaire
from app.extensions import db
from app.models import Case, CaseContact, OutboxMessage
from app.services.questionnaires.versions import publish_questionnaire
from tests.admin.conftest import PASSWORD, make_user

SHOTS = Path("/tmp")  # noqa: S108 (screenshots to look at, asked for there)


def _with_thresholds(org):
    definition = copy.deepcopy(org.short_version.definition)
    definition["version"] = org.short_version.version + 1
    definition["cases"] = {"overall_at_most": 2, "any_criterion_at_most": 1}
    publish_questionnaire(parse_questionnaire(definition, source="e2e"))
    handler = make_user("handler@example.org", "handler", org.agency)
    db.session.commit()
    return handler


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_the_whole_loop_citizen_and_handler(app, browser, live_server, org, phone):
    _with_thresholds(org)
    page = phone()
    page.goto(f"{live_server}/s/{org.short.qr_token}?lang=vi")
    page.locator("input[name='q-OVERALL'][value='4']").check(force=True)
    page.check("input[name=answer_wanted]")
    page.fill("input[name=answer_phone]", "12ab")
    page.fill("input[name=answer_email]", "dan@example.vn")
    page.locator("button.send").first.click()
    page.wait_for_load_state()
    error = page.locator("#answer-phone-error")
    assert error.is_visible() and "Số điện thoại này không dùng được" in error.inner_text()
    assert page.input_value("input[name=answer_email]") == "dan@example.vn"
    assert page.locator("input[name='q-OVERALL'][value='4']").is_checked()
    assert page.is_checked("input[name=answer_wanted]")
    _no_sideways_scroll(page)
    error.scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "cases-form-bad-phone-vi.png", full_page=True)
    assert db.session.scalar(select(Case)) is None

    page.fill("input[name=answer_phone]", "0912 345 678")
    page.locator("button.send").first.click()
    page.wait_for_url("**/thanks**")
    code = page.locator(".case-code .code").inner_text()
    page.screenshot(path=SHOTS / "cases-thanks-vi.png", full_page=True)
    db.session.expire_all()
    case = db.session.scalar(select(Case))
    assert case.code == code and case.source == "request"
    assert db.session.get(CaseContact, case.id).phone == "0912345678"

    page.click(f"a[href='/c/{code}']")
    page.wait_for_url(f"**/c/{code}")
    assert "Đã tiếp nhận" in page.inner_text("main")
    _no_sideways_scroll(page)
    page.screenshot(path=SHOTS / "cases-status-vi.png", full_page=True)
    page.goto(f"{live_server}/c/{code}?lang=en")
    assert "Received" in page.inner_text("main") and "Answer due by" in page.inner_text("main")
    page.screenshot(path=SHOTS / "cases-status-en.png", full_page=True)

    # The handler, on a desktop: the inbox, the case, the contact (audited), the answer.
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
    desk.goto(f"{live_server}/auth/login?lang=vi")
    desk.fill("input[name=email]", "handler@example.org")
    desk.fill("input[name=password]", PASSWORD)
    desk.click("main form button[type=submit]")
    desk.wait_for_load_state()
    desk.goto(f"{live_server}/admin/cases")
    assert code in desk.inner_text("main")
    desk.screenshot(path=SHOTS / "cases-inbox-vi.png", full_page=True)
    desk.click(f"a:text('{code}')")
    desk.click("a[href$='/contact']")
    assert "0912345678" in desk.inner_text("main")
    desk.go_back()
    desk.fill("textarea[name=answer]", "Cảm ơn Ông/Bà. Quầy đã bố trí thêm cán bộ vào buổi sáng.")
    desk.click("form[action$='/answer'] button[type=submit]")
    desk.wait_for_load_state()
    assert "Đã trả lời" in desk.inner_text("main")
    desk.screenshot(path=SHOTS / "cases-handler-answered-vi.png", full_page=True)
    db.session.expire_all()
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_citizen.is_(True))).recipient == \
        "dan@example.vn"

    # The citizen reads the answer, rates it and reopens the case, in English.
    page.goto(f"{live_server}/c/{code}?lang=en")
    assert "more staff in the morning" not in page.inner_text("main")  # the answer is shown as written
    assert "Quầy đã bố trí thêm cán bộ" in page.inner_text("main")
    page.check("input[name=rating][value='2']")
    page.click("form.rate-answer button[type=submit]")
    page.wait_for_load_state()
    assert "you rated this answer 2 out of 5" in page.inner_text("main")
    page.click("form.reopen button[type=submit]")
    page.wait_for_load_state()
    assert "Reopened" in page.inner_text("main")
    assert page.locator("form.reopen").count() == 0  # once only
    _no_sideways_scroll(page)
    page.screenshot(path=SHOTS / "cases-reopened-en.png", full_page=True)

    missing = page.goto(f"{live_server}/c/ABCD-EFGH-JKMN-PQRS?lang=vi")
    assert missing.status == 404 and "Không tìm thấy hồ sơ phản ánh" in page.inner_text("main")
    page.screenshot(path=SHOTS / "cases-not-found-vi.png", full_page=True)
    assert page.goto(f"{live_server}/c/%3Cscript%3E").status == 404
    desk.context.close()
