"""An administrator in headless Chromium: log in, create a counter, design and publish a
two-element questionnaire, assign it, and open the counter's QR address as a citizen."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import ServicePoint
from tests.admin.conftest import PASSWORD, make_agency, make_user


def test_admin_designs_and_publishes_a_questionnaire_for_a_new_counter(
    app, browser, live_server, artifacts
):
    province = make_agency("T", "province")
    make_user("root@example.org", "administrator")
    db.session.commit()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()

    page.goto(f"{live_server}/admin/counters/new")
    assert "/auth/login" in page.url  # not logged in yet
    page.fill("input[name=email]", "root@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/admin/counters/new")

    page.fill("input[name=code]", "T-Q1")
    page.select_option("select[name=agency_id]", str(province.id))
    page.fill("input[name=name_vi]", "Quầy tiếp nhận số 1")
    page.fill("input[name=name_en]", "Reception counter 1")
    page.click("main form:has(input[name=code]) button[type=submit]")
    page.wait_for_url("**/admin/counters/*")
    page.screenshot(path=artifacts / "admin-counter-created.png", full_page=True)

    page.goto(f"{live_server}/admin/questionnaires")
    page.select_option("select[name=template]", "blank")
    page.fill("input[name=code]", "e2e-survey")
    page.click("form:has(select[name=template]) button[type=submit]")
    page.wait_for_url("**/admin/questionnaires/versions/*")
    # Field by field: the blank template has one element; add a second, fill both languages.
    page.click("#design")
    page.fill("input[name=title_vi]", "Khảo sát thử nghiệm E2E")
    page.fill("input[name=title_en]", "E2E trial survey")
    page.fill("input[name=e0_title_vi]", "Tiếp cận dịch vụ")
    page.fill("input[name=e0_q0_text_vi]", "Chỗ ngồi chờ thoải mái")
    page.click("#add-element")
    page.wait_for_selector("input[name=e1_code]")
    page.fill("input[name=e1_title_vi]", "Công chức")
    page.fill("input[name=e1_title_en]", "Staff")
    page.fill("input[name=e1_weight]", "2")
    page.fill("input[name=e1_q0_text_vi]", "Công chức lịch sự, tận tình")
    page.fill("input[name=e1_q0_text_en]", "Courteous staff")
    page.check("input[name=e0_q0_required]")
    page.click("#design-save")
    page.wait_for_load_state()
    assert page.locator("#errors").count() == 0, page.inner_text("#errors")
    page.screenshot(path=artifacts / "admin-questionnaire-designer.png", full_page=True)
    page.click("#to-file")
    page.wait_for_selector("#publish")
    assert "Công chức lịch sự, tận tình" in page.input_value("textarea[name=text]")
    page.screenshot(path=artifacts / "admin-questionnaire-draft.png", full_page=True)
    page.click("#publish")
    page.wait_for_load_state()
    assert page.locator("#clone").count() == 1  # published: only cloning is offered
    page.screenshot(path=artifacts / "admin-questionnaire-published.png", full_page=True)

    counter_id = db.session.scalar(select(ServicePoint.id).where(ServicePoint.code == "T-Q1"))
    page.goto(f"{live_server}/admin/counters/{counter_id}")
    page.select_option("select[name=questionnaire_id]", label="e2e-survey")
    page.click("main form:has(input[name=code]) button[type=submit]")
    page.wait_for_load_state()
    qr_url = page.get_attribute("#qr-url", "href")
    assert qr_url.startswith(f"{live_server}/s/")
    page.screenshot(path=artifacts / "admin-counter-qr.png", full_page=True)

    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="vi-VN")
    citizen = phone.new_page()
    citizen.goto(qr_url)
    body = citizen.inner_text("body")
    assert "Khảo sát thử nghiệm E2E" in body
    assert "Chỗ ngồi chờ thoải mái" in body and "Công chức lịch sự, tận tình" in body
    citizen.screenshot(path=artifacts / "admin-e2e-citizen-sees-new-questionnaire.png", full_page=True)
    phone.close()
    context.close()
