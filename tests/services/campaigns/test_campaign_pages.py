"""The campaign pages (issue 19): list, new, planner, draw, purge (administrators), the estimates report."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Campaign, CampaignSample
from app.services.campaigns import campaign_estimates
from tests.admin.conftest import login_as, make_user

from .conftest import answer


def _form(world, **changes):
    data = {"code": "Q1", "name": "Khảo sát quý 1", "version_id": str(world.version.id),
            "agency_id": str(world.province.id), "period_start": "2026-01-01", "period_end": "2026-03-31",
            "strata_by": "agency", "target_half_width": "10", "design_effect": "1",
            "expected_response_rate": "50", "allocation": "proportional", "budget": "", "method": "srs"}
    data.update(changes)
    return data


def _cells(html: str, table: str) -> list[list[str]]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [[re.sub(r"<[^>]+>", " ", c).split()[0] if re.sub(r"<[^>]+>", " ", c).split() else ""
             for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)] for row in rows]


def test_only_administrators_plan(world, client):
    login_as(client, world.leader)
    assert client.get("/admin/campaigns").status_code == 403
    assert client.post("/admin/campaigns/new", data=_form(world)).status_code == 403
    login_as(client, world.admin)
    page = client.get("/admin/campaigns?lang=en")
    assert page.status_code == 200 and "No campaign yet." in page.get_data(as_text=True)
    assert 'href="/admin/campaigns"' in page.get_data(as_text=True)  # in the navigation


def test_new_campaign_plan_replan_and_draw(world, client):
    login_as(client, world.admin)
    created = client.post("/admin/campaigns/new?lang=en", data=_form(world))
    assert created.status_code == 302
    campaign = db.session.scalar(select(Campaign))
    page = client.get(f"/admin/campaigns/{campaign.id}?lang=en").get_data(as_text=True)
    rows = _cells(page, "plan")
    # stratum, N, answers needed, invitations needed, allocated, expected answers, precision
    # 56.5 expected answers of 120: 1.96·√(0.25·63.5/(56.5·119)) = 0.0952
    assert rows[1] == ["H1", "120", "54", "108", "113", "56.5", "±9.5"]
    assert rows[3][:5] == ["X1", "40", "29", "40", "38"]
    assert rows[4][:5] == ["Total", "220", "121", "208", "208"]
    # a budget and equal allocation, planned again
    replanned = client.post(f"/admin/campaigns/{campaign.id}?lang=en",
                            data=_form(world, budget="100", allocation="equal"))
    assert replanned.status_code == 302
    page = client.get(f"/admin/campaigns/{campaign.id}?lang=en").get_data(as_text=True)
    assert [r[4] for r in _cells(page, "plan")[1:]] == ["34", "33", "33", "100"]
    confirm = client.get(f"/admin/campaigns/{campaign.id}/draw?lang=en").get_data(as_text=True)
    assert "100 dossiers are drawn at random from 3 strata" in confirm
    drawn = client.post(f"/admin/campaigns/{campaign.id}/draw?lang=en", data={"confirm": "yes"})
    assert drawn.status_code == 302
    db.session.refresh(campaign)
    assert campaign.status == "drawn" and campaign.seed is not None
    assert db.session.scalar(select(func.count()).select_from(CampaignSample)) == 100
    page = client.get(f"/admin/campaigns/{campaign.id}?lang=en").get_data(as_text=True)
    assert "Drawn (frozen)" in page and str(campaign.seed) in page and 'id="campaign-settings"' not in page
    assert f'href="/reports/campaigns/{campaign.id}"' in page
    assert f'href="/admin/campaigns/{campaign.id}/tracking"' in page
    # frozen: a second draw or new settings change nothing
    again = client.post(f"/admin/campaigns/{campaign.id}/draw?lang=en", data={"confirm": "yes"},
                        follow_redirects=True)
    assert "is drawn already" in again.get_data(as_text=True)
    client.post(f"/admin/campaigns/{campaign.id}?lang=en", data=_form(world, budget="10"))
    assert db.session.scalar(select(func.count()).select_from(CampaignSample)) == 100


def test_bad_settings_in_the_form(world, client):
    login_as(client, world.admin)
    bad = client.post("/admin/campaigns/new?lang=vi", data=_form(world, period_end="2025-12-31"))
    assert bad.status_code == 400
    assert "Kỳ kết thúc trước khi bắt đầu." in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0
    empty = client.post("/admin/campaigns/new?lang=en", data=_form(world, code="E", period_start="2027-01-01",
                                                                   period_end="2027-01-31"),
                        follow_redirects=True)
    assert "the frame is empty" in empty.get_data(as_text=True)


def test_estimates_page(world, client):
    login_as(client, world.admin)
    client.post("/admin/campaigns/new", data=_form(world, budget="30", allocation="equal"))
    campaign = db.session.scalar(select(Campaign))
    client.post(f"/admin/campaigns/{campaign.id}/draw", data={"confirm": "yes"})
    samples = db.session.scalars(select(CampaignSample).order_by(CampaignSample.id)).all()
    for sample, rating in zip(samples[::2], [5, 4, 1, 5, 2, 5, 4, 1, 5, 3, 4, 5, 1, 2, 5], strict=True):
        sample.response_id = answer(world, sample.dossier.agency, rating, campaign_id=campaign.id)
        sample.outcome = "answered"
    for rating in (5, 1, 1, 2):
        answer(world, world.agencies["H2"], rating)
    db.session.commit()
    expected = campaign_estimates(campaign)
    overall = expected.domain("overall", "")
    leader = world.leader
    login_as(client, leader)
    page = client.get(f"/reports/campaigns/{campaign.id}?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = html.split('data-key="ALL"', 1)[1].split("</tr>", 1)[0]
    assert f'class="estimate">{overall.estimate:.1f}</td>' in row
    assert f'class="deff">{overall.deff:.2f}</td>' in row
    assert f"{overall.counter['estimate']:.1f}" in row and "(n=4)" in row
    assert f"{overall.difference:+.1f}" in row
    # the whole campaign's elements: every rating of an answer is the same, so each element is the overall
    elements = html.split('id="campaign-elements"', 1)[1].split("</table>", 1)[0]
    assert elements.count(f'class="estimate">{overall.estimate:.1f}</td>') == 6  # five elements and overall
    # a leader of another province may not see it
    other = make_user("other@example.org", "leader", world.agencies["Q"])
    db.session.commit()
    login_as(client, other)
    assert client.get(f"/reports/campaigns/{campaign.id}").status_code == 403


def test_purge_page(world, client):
    login_as(client, world.admin)
    client.post("/admin/campaigns/new", data=_form(world, budget="30", allocation="equal"))
    campaign = db.session.scalar(select(Campaign))
    client.post(f"/admin/campaigns/{campaign.id}/draw", data={"confirm": "yes"})
    confirm = client.get(f"/admin/campaigns/{campaign.id}/purge?lang=en").get_data(as_text=True)
    assert "are deleted" in confirm
    done = client.post(f"/admin/campaigns/{campaign.id}/purge?lang=en", data={"confirm": "yes"},
                       follow_redirects=True)
    assert "contacts deleted; the campaign is purged." in done.get_data(as_text=True)
    db.session.refresh(campaign)
    assert campaign.status == "purged"
