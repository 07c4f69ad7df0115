"""A leader on a phone (360 px) reads the other questions page in both languages (axe: nothing serious
or critical) and opens the PDF."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Agency
from app.services.exchange.demo import build_demo
from app.services.reports import estimates as rs
from tests.admin.conftest import PASSWORD, make_user
from tests.e2e.test_citizen_flow import serious_violations

# Tables and figures reaching past a 360 px screen (named in a failure).
WIDE = """[...document.querySelectorAll('main table, main figure, main section')]
  .filter(e => e.getBoundingClientRect().right > 362)
  .map(e => e.tagName + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))"""


@pytest.mark.parametrize("lang, heading", [("vi", "Mong muốn"), ("en", "Expectations")])
def test_questions_page_on_a_phone(app, browser, live_server, artifacts, lang, heading):
    build_demo(seed=7, responses=2000, end_month=date(2025, 12, 1))
    province = db.session.scalar(select(Agency).where(Agency.code == "DEMO"))
    make_user("chief@example.org", "leader", province)
    db.session.commit()
    rs.invalidate()
    context = browser.new_context(viewport={"width": 360, "height": 800}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{live_server}/reports/questions?lang={lang}")
    page.fill("input[name=email]", "chief@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/reports/questions**")
    page.goto(f"{live_server}/reports/questions?start=2025-01&end=2025-12&lang={lang}")
    assert heading in page.inner_text("main")
    # the charts are server-drawn SVG with a title, and their tables hold the same figures
    assert page.locator("figure.svg-chart svg title").count() >= 5
    assert page.locator("#table-EXPECT tbody tr").count() == 8
    first = page.locator("#table-EXPECT tbody tr").first.inner_text()
    assert first.startswith("1")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    wide = page.evaluate(WIDE)
    page.screenshot(path=artifacts / f"reports-questions-{lang}-360.png", full_page=True)
    assert overflow <= 0, f"{overflow} px of sideways scrolling: {wide}"
    # axe-core: nothing serious or critical at 360 px in this language
    assert serious_violations(page) == [], lang
    pdf = page.request.get(f"{live_server}/reports/report.pdf?start=2025-01&end=2025-12&lang={lang}")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF-")
    context.close()
