"""An administrator on a 360-px phone creates a ministry (issue 20, item 3) with the agency form and
finds it on the agencies list with its level in words, in Vietnamese and in English."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Agency
from tests.admin.conftest import PASSWORD, make_agency, make_user


def test_admin_creates_a_ministry_on_a_phone(app, phone, live_server, artifacts):
    make_agency("HN", "province")
    make_user("root@example.org", "administrator")
    db.session.commit()
    page = phone()
    page.goto(f"{live_server}/admin/agencies/new")
    page.fill("input[name=email]", "root@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/admin/agencies/new")

    page.fill("input[name=code]", "BYT")
    page.fill("input[name=name_vi]", "Bộ Y tế")
    page.fill("input[name=name_en]", "Ministry of Health")
    page.select_option("select[name=level]", "ministry")
    assert page.locator("select[name=level] option:checked").inner_text() == "Bộ, ngành"
    page.screenshot(path=artifacts / "ministry-form-vi-360.png", full_page=True)
    page.click("main form:has(input[name=code]) button[type=submit]")
    page.wait_for_url("**/admin/agencies")
    assert db.session.scalar(select(Agency.level).where(Agency.code == "BYT")) == "ministry"

    row = page.locator("table.list tr", has_text="BYT")
    assert row.locator("td").nth(2).inner_text() == "Bộ, ngành"
    # The list scrolls inside itself on a phone; the page does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=artifacts / "ministry-list-vi-360.png", full_page=True)
    page.goto(f"{live_server}/admin/agencies?lang=en")
    assert page.locator("table.list tr", has_text="BYT").locator("td").nth(2).inner_text() == "Ministry"
    assert page.locator("table.list tr", has_text="HN").locator("td").nth(2).inner_text() == "Province"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=artifacts / "ministry-list-en-360.png", full_page=True)
    page.goto(f"{live_server}/admin/agencies/new?lang=en")
    page.select_option("select[name=level]", "ministry")
    page.screenshot(path=artifacts / "ministry-form-en-360.png", full_page=True)
