"""The Content-Security-Policy in a real browser: every page we ship runs without a CSP violation."""

from __future__ import annotations

import pytest

from app.extensions import db
from tests.admin.conftest import PASSWORD, make_user
from tests.e2e.conftest import browser, live_server  # noqa: F401  (fixtures reused)

pytestmark = pytest.mark.e2e


@pytest.fixture
def site(demo, live_server, browser):  # noqa: F811
    """A logged-in administrator's browser page over the demo province; collects CSP complaints."""
    make_user("csp-admin@example.org", "administrator")
    db.session.commit()
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    complaints: list[str] = []
    page.on("console", lambda m: complaints.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: complaints.append(f"page error: {error}"))
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=email]", "csp-admin@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    yield live_server, page, complaints
    context.close()


def _visit(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, url
    page.wait_for_load_state("networkidle")


def test_citizen_pages_and_kiosk_have_no_csp_violation(site):
    from app.models import ServicePoint

    base, page, complaints = site
    with_form = db.select(ServicePoint).where(ServicePoint.questionnaire_id.is_not(None))
    counter = db.session.scalars(with_form).first()
    for path in ("/", f"/s/{counter.qr_token}", f"/k/{counter.qr_token}"):
        _visit(page, base + path)
    assert complaints == []


def test_reports_with_charts_have_no_csp_violation(site):
    base, page, complaints = site
    for path in ("/reports/", "/reports/overview", "/reports/ranking", "/reports/comments"):
        _visit(page, base + path)
    assert complaints == []


def test_posters_print_button_is_allowed(site):
    from app.models import ServicePoint

    base, page, complaints = site
    counter = db.session.scalars(db.select(ServicePoint)).first()
    _visit(page, f"{base}/admin/counters/{counter.id}/poster")
    page.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
    page.click("button")
    assert page.evaluate("document.body.dataset.printed") == "yes"
    assert complaints == []
