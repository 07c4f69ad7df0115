"""Invitation codes and the citizen's answer through /i/<code> (issue 19, items 5 and 6): a code
opens its own sample only, answering links the response and the sample in one go, once."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CampaignSample, Response
from app.models.base import utcnow
from app.services.collect import issue_receipt_code
from app.services.invitations import (
    InvitationError,
    campaign_tracking,
    invitation_code,
    invitation_url,
    read_invitation_code,
)
from tests.public.conftest import SHORT_ANSWERS, hidden_fields


def _code(sample) -> str:
    code = invitation_code(sample)
    db.session.commit()
    return code


def test_a_code_opens_its_own_sample_and_only_while_the_campaign_runs(drawn):
    first, second = drawn.samples["T01-1"], drawn.samples["T02-2"]
    code = _code(first)
    # The same sample always gets the same code (letters can be printed again), another sample another.
    assert invitation_code(first) == code and _code(second) != code
    assert first.code_hash and len(first.code_hash) == 64 and code not in first.code_hash
    assert read_invitation_code(code).id == first.id
    assert invitation_url(code) == f"http://localhost/i/{code}"
    # An altered code, a receipt code, or a code whose hash is no longer stored does not open.
    altered = code[:-2] + ("AA" if code[-2:] != "AA" else "BB")
    receipt = issue_receipt_code(drawn.org.short, "T01-001")
    for bad in (altered, receipt, "", "x" * 200, "abc.def"):
        with pytest.raises(InvitationError) as failure:
            read_invitation_code(bad)
        assert failure.value.reason == "invalid"
    second_code = invitation_code(second)
    second.code_hash = None
    db.session.commit()
    with pytest.raises(InvitationError):
        read_invitation_code(second_code)
    drawn.campaign.status = "closed"
    db.session.commit()
    with pytest.raises(InvitationError) as failure:
        read_invitation_code(code)
    assert failure.value.reason == "closed"


def test_answering_links_the_response_and_the_sample(client, drawn):
    sample = drawn.samples["T02-2"]
    code = _code(sample)
    page = client.get(f"/i/{code}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Khảo sát hài lòng 2026" in text and "T02-002" in text
    db.session.expire_all()
    assert sample.outcome == "opened" and sample.opened_at is not None
    fields = hidden_fields(text)
    before = utcnow()
    sent = client.post(f"/i/{code}", data={**fields, **SHORT_ANSWERS})
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"/i/{code}?sent=1")
    thanks = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Câu trả lời của ông/bà đã được ghi nhận" in thanks
    db.session.expire_all()
    response = db.session.scalar(select(Response))
    assert sample.response_id == response.id and sample.outcome == "answered"
    assert sample.answered_at >= before
    assert response.campaign_id == drawn.campaign.id and response.agency_id == drawn.other.id
    assert response.channel == "online" and response.stratum == "T02" and response.verified
    assert response.weight == pytest.approx(100 / 3)
    assert response.dossier_key == f"campaign:{drawn.campaign.id}:{sample.id}"
    assert response.answers["COMMENT"] == "Cán bộ nhiệt tình"
    assert response.service_point_id is None and response.interview_mode is None
    # The same form posted again is not a second response: the holder is thanked, kindly.
    again = client.post(f"/i/{code}", data={**fields, **SHORT_ANSWERS, "q-OVERALL": "1"})
    assert again.status_code == 200
    assert "Đã trả lời" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Response.id))) == 1
    english = client.get(f"/i/{code}?lang=en").get_data(as_text=True)
    assert "Already answered, thank you" in english


def test_bad_answers_store_nothing_and_say_why(client, drawn):
    sample = drawn.samples["T01-1"]
    code = _code(sample)
    fields = hidden_fields(client.get(f"/i/{code}?lang=en").get_data(as_text=True))
    page = client.post(f"/i/{code}", data={**fields, **SHORT_ANSWERS, "q-OVERALL": "9"})
    assert page.status_code == 422
    assert "Please choose one of the answers shown." in page.get_data(as_text=True)
    db.session.expire_all()
    assert sample.response_id is None and sample.outcome == "opened"
    assert db.session.scalar(select(func.count(Response.id))) == 0


def test_declining_is_recorded_and_not_an_answer(client, drawn):
    sample = drawn.samples["T01-2"]
    code = _code(sample)
    fields = hidden_fields(client.get(f"/i/{code}").get_data(as_text=True))
    declined = client.post(f"/i/{code}/decline", data={"csrf_token": fields.get("csrf_token", "")})
    assert declined.status_code == 303
    page = client.get(declined.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "You will not be reminded about this survey again." in page
    db.session.expire_all()
    assert sample.outcome == "refused" and sample.refused_at is not None and sample.response_id is None


def test_unknown_codes_get_a_clear_page(client, drawn):
    page = client.get("/i/not-a-code?lang=en")
    assert page.status_code == 404 and "This invitation code is not valid" in page.get_data(as_text=True)
    code = _code(drawn.samples["T01-1"])
    drawn.campaign.status = "closed"
    db.session.commit()
    closed = client.get(f"/i/{code}?lang=en")
    assert closed.status_code == 410 and "This survey has closed" in closed.get_data(as_text=True)
    assert client.post(f"/i/{code}", data=SHORT_ANSWERS).status_code == 410
    assert db.session.scalar(select(func.count(Response.id))) == 0


def test_tracking_counts_and_rr1_by_hand(client, drawn):
    s = drawn.samples
    now = datetime(2026, 7, 1, 8, 0, tzinfo=utcnow().tzinfo)
    # T01: 5 sampled; 1 invited+delivered+opened+answered, 1 invited+bounced, 1 invited+opened+refused,
    # 1 invited only, 1 never contacted. T02: 3 sampled; 1 invited+delivered, 2 never contacted.
    for key in ("T01-1", "T01-2", "T01-3", "T01-4", "T02-1"):
        s[key].invited_at, s[key].outcome = now, "invited"
    s["T01-1"].delivered_at = s["T01-1"].opened_at = now
    s["T01-2"].bounced_at, s["T01-2"].outcome = now, "bounced"
    s["T01-3"].opened_at, s["T01-3"].refused_at, s["T01-3"].outcome = now, now, "refused"
    s["T02-1"].delivered_at, s["T02-1"].outcome = now, "delivered"
    db.session.commit()
    code = _code(s["T01-1"])
    fields = hidden_fields(client.get(f"/i/{code}").get_data(as_text=True))
    client.post(f"/i/{code}", data={**fields, **SHORT_ANSWERS})
    db.session.expire_all()
    strata, total = campaign_tracking(drawn.campaign)
    t01, t02 = strata
    assert (t01.key, t01.sampled, t01.invited, t01.delivered, t01.bounced, t01.opened, t01.answered,
            t01.refused, t01.not_contacted) == ("T01", 5, 4, 1, 1, 2, 1, 1, 1)
    assert (t02.sampled, t02.invited, t02.delivered, t02.answered, t02.not_contacted) == (3, 1, 1, 0, 2)
    assert t01.rr1 == pytest.approx(1 / 5) and t02.rr1 == 0
    assert (total.sampled, total.answered, total.refused) == (8, 1, 1)
    assert total.rr1 == pytest.approx(1 / 8)
    assert db.session.get(CampaignSample, s["T01-1"].id).outcome == "answered"


def test_two_posts_at_once_store_one_response(app, drawn):
    sample = drawn.samples["T02-1"]
    code = _code(sample)
    first = app.test_client()
    fields = hidden_fields(first.get(f"/i/{code}").get_data(as_text=True))
    barrier = threading.Barrier(4)
    statuses = []

    def post(comment: str):
        client = app.test_client()
        barrier.wait()
        page = client.post(f"/i/{code}", data={**fields, **SHORT_ANSWERS, "q-COMMENT": comment})
        statuses.append(page.status_code)

    threads = [threading.Thread(target=post, args=(f"twin {i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    db.session.expire_all()
    responses = db.session.scalars(select(Response)).all()
    # One response; every twin is thanked (a double tap is the same person).
    assert len(responses) == 1 and statuses == [303, 303, 303, 303]
    assert db.session.get(CampaignSample, sample.id).response_id == responses[0].id
