"""A survey administrator in headless Chromium on a 360-px phone plans a campaign (issue 19): creates it,
reads the plan per stratum, changes the allocation and budget, plans again, draws the sample after a
confirmation and sees the frozen plan, in Vietnamese and English. Screenshots in test-artifacts/."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import func, select

from app.extensions import db
from app.models import Campaign, CampaignSample
from app.services.questionnaires.versions import SURVEYS_DIR, publish_questionnaire, validate_file
from tests.admin.conftest import make_agency, make_user
from tests.e2e.conftest import assert_no_sideways_scroll, signed_in_phone
from tests.services.campaigns.conftest import SIZES, add_dossiers, answer

WORDS = {
    "vi": {"drawn": "Đã rút mẫu (cố định)", "confirm": "Rút mẫu", "total": "Tổng"},
    "en": {"drawn": "Drawn (frozen)", "confirm": "Draw the sample", "total": "Total"},
}




def _column(page, index):
    return page.eval_on_selector_all(
        "#plan tbody tr", f"rows => rows.map(r => r.cells[{index}].innerText.trim())")


def test_plan_and_draw_a_campaign(app, browser, live_server, artifacts):
    province = make_agency("P", "province")
    agencies = {code: make_agency(code, "district" if code != "X1" else "commune", province)
                for code in ("H1", "H2", "X1")}
    for code, n in SIZES.items():
        add_dossiers(agencies[code], n)
    version, _ = publish_questionnaire(validate_file(SURVEYS_DIR / "sipas-short.yaml"))
    make_user("root@example.org", "administrator")
    db.session.commit()
    for lang in ("vi", "en"):
        context, page = signed_in_phone(browser, live_server, lang)
        page.goto(f"{live_server}/admin/campaigns?lang={lang}")
        page.click("#campaign-new")
        page.fill("#code", f"Q1-{lang}")
        page.fill("#name", "Khảo sát quý 1 năm 2026")
        page.select_option("#version_id", str(version.id))
        page.select_option("#agency_id", str(province.id))
        page.fill("#period_start", "2026-01-01")
        page.fill("#period_end", "2026-03-31")
        page.fill("#target_half_width", "10")
        page.fill("#expected_response_rate", "50")
        assert_no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"campaign-new-{lang}-360.png", full_page=True)
        page.click("#campaign-save")
        page.wait_for_load_state()
        assert _column(page, 4) == ["113", "57", "38"]
        assert page.locator("#total-needed").inner_text() == "208"
        assert_no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"campaign-plan-{lang}-360.png", full_page=True)
        # a budget of 60, shared equally, planned again
        page.select_option("#allocation", "equal")
        page.fill("#budget", "60")
        page.click("#campaign-save")
        page.wait_for_load_state()
        assert _column(page, 4) == ["20", "20", "20"]
        assert page.locator("#total-planned").inner_text() == "60"
        page.click("#campaign-draw")
        assert "60" in page.locator("#consequences").inner_text()
        assert_no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"campaign-draw-confirm-{lang}-360.png", full_page=True)
        page.click("#confirm")
        page.wait_for_load_state()
        assert WORDS[lang]["drawn"] in page.locator("#campaign-status").inner_text()
        assert page.locator("#campaign-settings").count() == 0 and page.locator("#campaign-draw").count() == 0
        assert _column(page, 4) == ["20", "20", "20"]
        assert_no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"campaign-drawn-{lang}-360.png", full_page=True)
        # half of the sample answers, and four counter QR answers in H1: the estimates page
        campaign = db.session.scalar(select(Campaign).where(Campaign.code == f"Q1-{lang}"))
        samples = db.session.scalars(select(CampaignSample).where(CampaignSample.campaign_id == campaign.id)
                                     .order_by(CampaignSample.id)).all()
        for i, sample in enumerate(samples[::2]):
            sample.response_id = answer(SimpleNamespace(version=version), sample.dossier.agency,
                                        (5, 4, 2, 5, 1)[i % 5], campaign_id=campaign.id)
            sample.outcome = "answered"
        if lang == "vi":
            for rating in (5, 2, 1, 4):
                answer(SimpleNamespace(version=version), agencies["H1"], rating)
        db.session.commit()
        page.click("#campaign-report")
        page.wait_for_load_state()
        overall = page.locator("#campaign-estimates tr[data-key=ALL]")
        # 3 of every 5 ratings are satisfied in every stratum
        assert overall.locator(".estimate").inner_text() == "60.0"
        assert "(n=4)" in overall.locator(".counter").inner_text()
        assert_no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"campaign-estimates-{lang}-360.png", full_page=True)
        context.close()
    db.session.expire_all()
    drawn = select(func.count()).select_from(Campaign).where(Campaign.status == "drawn")
    assert db.session.scalar(drawn) == 2
    assert db.session.scalar(select(func.count()).select_from(CampaignSample)) == 120
