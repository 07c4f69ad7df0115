"""Issue 19 in headless Chromium: a sampled dossier's holder opens the invitation link on a 360-px phone,
answers and is thanked (Vietnamese and English); a second visit says the dossier is answered; another
holder declines; the administrator's tracking page shows it. Screenshots: /tmp/invitations-*.png."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import CampaignSample, Response
from app.services.invitations import invitation_code
from tests.admin.conftest import PASSWORD, make_user
from tests.services.invitations.conftest import build_campaign

SHOTS = Path("/tmp")  # noqa: S108 (screenshots to look at)
ANSWERS = {"E1_1": "5", "E2_1": "4", "E3_1": "4", "E4_1": "3", "E5_1": "5", "OVERALL": "4"}


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _answer(page, comment: str) -> None:
    for code, value in ANSWERS.items():
        page.locator(f"input[name='q-{code}'][value='{value}']").check(force=True)
    page.fill("textarea[name='q-COMMENT']", comment)
    page.locator("button.send").click()


def test_invitation_answered_on_a_phone_then_tracked(app, browser, live_server, org, phone):
    drawn = build_campaign(org)
    admin = make_user("admin@example.org", "administrator")
    codes = {key: invitation_code(drawn.samples[key]) for key in ("T01-1", "T02-2", "T01-2")}
    db.session.commit()

    page = phone()
    page.goto(f"{live_server}/i/{codes['T01-1']}?lang=vi")
    assert "Khảo sát hài lòng 2026" in page.inner_text("h1")
    assert "T01-001" in page.inner_text("main")
    _no_sideways_scroll(page)
    page.screenshot(path=SHOTS / "invitations-form-vi.png", full_page=True)
    _answer(page, "Cán bộ hướng dẫn rõ ràng")
    page.wait_for_url("**sent=1")
    assert "Câu trả lời của ông/bà đã được ghi nhận" in page.inner_text("main")
    _no_sideways_scroll(page)
    page.screenshot(path=SHOTS / "invitations-thanks-vi.png", full_page=True)
    page.go_back()  # the form again, from the history: a second send is not a second response
    page.goto(f"{live_server}/i/{codes['T01-1']}?lang=vi")
    assert "Đã trả lời, xin cảm ơn" in page.inner_text("main")

    english = phone()
    english.goto(f"{live_server}/i/{codes['T02-2']}?lang=en")
    assert "You were chosen at random" in english.inner_text("main")
    _no_sideways_scroll(english)
    english.screenshot(path=SHOTS / "invitations-form-en.png", full_page=True)
    _answer(english, "Quick and polite")
    english.wait_for_url("**sent=1")
    assert "Your answers have been recorded." in english.inner_text("main")
    english.screenshot(path=SHOTS / "invitations-thanks-en.png", full_page=True)

    declining = phone()
    declining.goto(f"{live_server}/i/{codes['T01-2']}?lang=en")
    declining.get_by_role("button", name="I do not want to take part").click()
    declining.wait_for_url("**/decline")
    assert "You will not be reminded about this survey again." in declining.inner_text("main")

    db.session.expire_all()
    responses = db.session.scalars(select(Response).order_by(Response.id)).all()
    assert [r.stratum for r in responses] == ["T01", "T02"]
    assert [r.answers["COMMENT"] for r in responses] == ["Cán bộ hướng dẫn rõ ràng", "Quick and polite"]
    outcomes = {key: db.session.get(CampaignSample, drawn.samples[key].id).outcome for key in codes}
    assert outcomes == {"T01-1": "answered", "T02-2": "answered", "T01-2": "refused"}

    for width, lang in ((1280, "en"), (360, "vi")):
        desk = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        desk.goto(f"{live_server}/auth/login?lang={lang}")
        desk.fill("input[name=email]", admin.email)
        desk.fill("input[name=password]", PASSWORD)
        desk.click("main form button[type=submit]")
        desk.wait_for_load_state()
        desk.goto(f"{live_server}/admin/campaigns/{drawn.campaign.id}/tracking?lang={lang}")
        rows = desk.locator("table.tracking tbody tr")
        assert rows.count() == 3
        # T01: 5 sampled, 2 opened, 1 answered, 1 refused, RR1 = 1/5; T02: 3 sampled, 1 answered.
        first = ["T01", "5", "0", "0", "0", "2", "1", "1", "3", "20.0", "%"]
        assert rows.nth(0).inner_text().split() == first
        assert rows.nth(1).inner_text().split()[-2:] == ["33.3", "%"]  # a no-break space between
        assert rows.nth(2).inner_text().split()[-2:] == ["25.0", "%"]
        _no_sideways_scroll(desk)
        desk.screenshot(path=SHOTS / f"invitations-tracking-{lang}-{width}.png", full_page=True)
        desk.context.close()


def test_an_enumerator_enters_a_phone_interview_on_a_phone(app, browser, live_server, org):
    drawn = build_campaign(org)
    make_user("enum@example.org", "enumerator", org.agency).name = "Lan"
    db.session.commit()
    page = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True).new_page()
    page.goto(f"{live_server}/auth/login?lang=vi")
    page.fill("input[name=email]", "enum@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server}/admin/interviews?lang=vi")
    page.click("a:text('T01-004')")
    page.wait_for_url("**/admin/interviews/*")
    assert "0987654321" in page.inner_text("main")
    page.select_option("select[name=interview_mode]", "phone")
    for code, value in ANSWERS.items():
        page.fill(f"input[name='{code}']", value)
    _no_sideways_scroll(page)
    page.screenshot(path=SHOTS / "invitations-interview-vi.png", full_page=True)
    page.locator("form.paper button[type=submit]").click()
    page.wait_for_url("**/admin/interviews")
    assert "T01-004" in page.inner_text(".flash, main")
    page.screenshot(path=SHOTS / "invitations-interviews-vi.png", full_page=True)
    db.session.expire_all()
    response = db.session.scalar(select(Response))
    assert (response.channel, response.interview_mode, response.enumerator) == ("paper", "phone", "Lan")
    assert db.session.get(CampaignSample, drawn.samples["T01-4"].id).response_id == response.id
    page.context.close()
