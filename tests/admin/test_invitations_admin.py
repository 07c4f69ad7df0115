"""A campaign's tracking page, letters, invitation buttons and the enumerators' interviews (issue 19,
items 5 and 6), through the admin pages with each role."""

from __future__ import annotations

import subprocess
from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, CampaignSample, OutboxMessage, Response
from app.models.base import utcnow
from app.services.invitations import invitation_code
from tests.admin.conftest import login_as, make_agency, make_user
from tests.services.invitations.conftest import build_campaign


def _users(drawn):
    province = make_agency("P", "province")
    drawn.org.agency.parent_id = province.id
    drawn.other.parent_id = province.id
    outside = make_agency("Z", "province")
    users = {
        "admin": make_user("admin@example.org", "administrator"),
        "manager": make_user("manager@example.org", "manager", drawn.org.agency),
        "stranger": make_user("stranger@example.org", "manager", outside),
        "leader": make_user("leader@example.org", "leader", drawn.org.agency),
        "enumerator": make_user("enum@example.org", "enumerator", drawn.org.agency),
    }
    users["enumerator"].name = "Điều tra viên Lan"
    db.session.commit()
    return users


def test_tracking_page_counts_and_who_sees_it(app, client):
    drawn = build_campaign()
    users = _users(drawn)
    sample = drawn.samples["T01-1"]
    sample.outcome, sample.invited_at = "refused", utcnow()
    db.session.commit()
    login_as(client, users["admin"])
    page = client.get(f"/admin/campaigns/{drawn.campaign.id}/tracking?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Tracking of campaign KS2026" in html
    cells = "".join(f"<td>{n}</td>" for n in (5, 1, 0, 0, 0, 0, 1, 4))
    assert f'<th scope="row">T01</th>\n{cells}' in html
    assert "Queue e-mail and SMS invitations" in html and "0.0&nbsp;%" in html
    assert f'href="/admin/campaigns/{drawn.campaign.id}">The campaign\'s plan</a>' in html
    data = client.get(f"/admin/campaigns/{drawn.campaign.id}/tracking.json").get_json()
    assert data["total"]["sampled"] == 8 and data["total"]["refused"] == 1 and data["total"]["rr1"] == 0
    # A manager of the campaign's agency reads it without the buttons; others are refused.
    login_as(client, users["manager"])
    html = client.get(f"/admin/campaigns/{drawn.campaign.id}/tracking?lang=en").get_data(as_text=True)
    assert "Tracking of campaign KS2026" in html and "Queue e-mail" not in html
    assert client.get(f"/admin/campaigns/{drawn.campaign.id}/letters.pdf").status_code == 403
    login_as(client, users["stranger"])
    assert client.get(f"/admin/campaigns/{drawn.campaign.id}/tracking").status_code == 403
    login_as(client, users["leader"])
    assert client.get(f"/admin/campaigns/{drawn.campaign.id}/tracking").status_code == 403


def test_letters_and_invitation_buttons(app, client, tmp_path):
    drawn = build_campaign()
    users = _users(drawn)
    login_as(client, users["admin"])
    pdf = client.get(f"/admin/campaigns/{drawn.campaign.id}/letters.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    path = tmp_path / "letters.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert text.count("Địa chỉ khảo sát · Survey address:") == 3 and "7 Nguyễn Huệ, xã Thử" in text
    # One stratum's letters; more letters than a download holds are refused with the way round.
    t02 = next(s for s in drawn.campaign.strata if s.key == "T02")
    one = client.get(f"/admin/campaigns/{drawn.campaign.id}/letters.pdf?stratum={t02.id}")
    assert 'filename="KS2026-T02-letters.pdf"' in one.headers["Content-Disposition"]
    (tmp_path / "t02.pdf").write_bytes(one.data)
    info = subprocess.run(["pdfinfo", str(tmp_path / "t02.pdf")], capture_output=True, text=True).stdout
    assert info.split("Pages:")[1].split()[0] == "2"
    app.config["LETTERS_PER_DOWNLOAD"] = 2
    refused = client.get(f"/admin/campaigns/{drawn.campaign.id}/letters.pdf?lang=en", follow_redirects=True)
    assert "3 letters are too many for one download" in refused.get_data(as_text=True)
    sent = client.post(f"/admin/campaigns/{drawn.campaign.id}/invite?lang=en", follow_redirects=True)
    assert "Queued: 2 e-mails, 1 SMS." in sent.get_data(as_text=True)
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert sorted(m.kind for m in messages) == ["email", "email", "sms"]
    db.session.expire_all()
    strata = client.get(f"/admin/campaigns/{drawn.campaign.id}/tracking.json").get_json()["strata"]
    assert [s["invited"] for s in strata] == [3, 3]  # T01: e-mail, SMS, post; T02: e-mail, two letters


def test_the_users_form_offers_the_enumerator_role(app, client):
    drawn = build_campaign()
    users = _users(drawn)
    login_as(client, users["admin"])
    html = client.get("/admin/users/new?lang=en").get_data(as_text=True)
    assert 'value="enumerator"' in html and "enumerator (survey interviews)" in html


def test_an_enumerator_enters_a_sampled_dossiers_answers(app, client):
    drawn = build_campaign()
    users = _users(drawn)
    enumerator = users["enumerator"]
    login_as(client, enumerator)
    listing = client.get("/admin/interviews?lang=en").get_data(as_text=True)
    # The enumerator's agency is T01: its five dossiers, none of T02; no contact on the list.
    assert all(f"T01-00{i}" in listing for i in range(1, 6)) and "T02-00" not in listing
    assert "an@example.org" not in listing and "0987654321" not in listing
    phone = drawn.samples["T01-4"]
    page = client.get(f"/admin/interviews/{phone.id}?lang=en").get_data(as_text=True)
    assert "0987654321" in page and "Phạm Dũng" in page
    email_page = client.get(f"/admin/interviews/{drawn.samples['T01-1'].id}").get_data(as_text=True)
    assert "an@example.org" not in email_page
    assert client.get(f"/admin/interviews/{drawn.samples['T02-1'].id}").status_code == 404
    viewed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.interview_contact"))
    assert viewed.detail["sample"] == phone.id
    version_id = drawn.org.short_version.id
    answers = {"E1_1": "5", "E2_1": "4", "E3_1": "3", "E4_1": "2", "E5_1": "1", "OVERALL": "4",
               "COMMENT": "Gọi điện lúc 9 giờ"}
    # No mode: refused with the field named, nothing stored.
    bad = client.post(f"/admin/interviews/{phone.id}?lang=en",
                      data={"version_id": version_id, "interview_date": "2026-07-02", **answers})
    assert bad.status_code == 422 and db.session.scalar(select(Response.id)) is None
    saved = client.post(f"/admin/interviews/{phone.id}", data={
        "version_id": version_id, "interview_date": "2026-07-02", "interview_mode": "phone", **answers})
    assert saved.status_code == 302
    db.session.expire_all()
    response = db.session.scalar(select(Response))
    sample = db.session.get(CampaignSample, phone.id)
    assert sample.response_id == response.id and sample.outcome == "answered"
    assert (response.channel, response.interview_mode, response.interview_date) == (
        "paper", "phone", date(2026, 7, 2))
    assert response.enumerator == "Điều tra viên Lan" and response.campaign_id == drawn.campaign.id
    assert response.stratum == "T01" and response.answers["COMMENT"] == "Gọi điện lúc 9 giờ"
    # Answered: gone from the list; its invitation link says so.
    listing = client.get("/admin/interviews?lang=en").get_data(as_text=True)
    assert "Saved: dossier T01-004 is answered." in listing and ">T01-004</a>" not in listing
    assert ">T01-003</a>" in listing
    code = invitation_code(sample)
    db.session.commit()
    assert "Already answered" in client.get(f"/i/{code}?lang=en").get_data(as_text=True)
    # Another holder declines on the phone: a refusal, audited, gone from the list.
    declined = drawn.samples["T01-2"]
    client.post(f"/admin/interviews/{declined.id}/refused")
    db.session.expire_all()
    assert db.session.get(CampaignSample, declined.id).outcome == "refused"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.interview_refused"))
    # An enumerator sees nothing else of the administration.
    assert client.get(f"/admin/campaigns/{drawn.campaign.id}/tracking").status_code == 403
    assert client.get("/admin/responses").status_code == 403
