"""Kiosk mode: same questionnaire, kiosk channel, a clean form for each person, offline support files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Response
from app.models.base import utcnow
from tests.public.conftest import SHORT_ANSWERS, open_form, post_form


def test_kiosk_page_is_never_cached_and_loads_its_scripts(client, org):
    page = client.get(f"/k/{org.full.qr_token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'class="kiosk"' in html and "/static/kiosk.js" in html
    assert f'data-home="/k/{org.full.qr_token}"' in html and 'data-sw="/k/sw.js"' in html
    assert html.count("<fieldset") == 33  # SIPAS-2017 v2 adds FEEDBACK (issue 17)
    assert 'http-equiv="refresh" content="300' in html  # idle reset without JavaScript
    assert 'class="brand"' in html and 'href="/"' not in html  # no way off the kiosk


def test_kiosk_submission_is_stored_as_kiosk_and_returns_to_an_empty_form(client, org):
    url = f"/k/{org.short.qr_token}"
    fields = open_form(client, url)
    page = post_form(client, url, fields=fields)
    assert page.status_code == 303
    assert page.headers["Location"] == f"{url}/thanks?n={fields['nonce']}"
    thanks = client.get(page.headers["Location"])
    html = thanks.get_data(as_text=True)
    assert thanks.status_code == 200 and thanks.headers["Cache-Control"] == "no-store"
    assert f'content="5;url={url}"' in html
    assert "Cán bộ nhiệt tình" not in html
    fresh = client.get(url).get_data(as_text=True)
    assert " checked" not in fresh and "Cán bộ nhiệt tình" not in fresh
    assert open_form(client, url)["nonce"] != fields["nonce"]
    [row] = db.session.scalars(select(Response))
    assert row.channel == "kiosk" and row.nonce == fields["nonce"]
    assert client.get(f"{url}/thanks?n=unknown-nonce-000000").status_code == 302


def test_queued_answers_keep_their_time_and_are_stored_once(client, org):
    url = f"/k/{org.short.qr_token}"
    answered = utcnow() - timedelta(hours=3)
    fields = {**open_form(client, url), "nonce": "queued-on-the-tablet-0001"}
    data = {**SHORT_ANSWERS, "answered_at": str(int(answered.timestamp() * 1000))}
    for _ in range(3):  # the tablet retries after each lost reply
        assert post_form(client, url, data, fields=fields).status_code == 303
    future = {**SHORT_ANSWERS, "answered_at": str(int((utcnow() + timedelta(days=1)).timestamp() * 1000))}
    post_form(client, url, future, fields={**fields, "nonce": "queued-on-the-tablet-0002"})
    rows = list(db.session.scalars(select(Response).order_by(Response.id)))
    assert len(rows) == 2
    assert abs(rows[0].submitted_at - answered) < timedelta(seconds=1)
    assert abs(rows[1].submitted_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_kiosk_bursts_are_judged_by_answer_times(client, org):
    url = f"/k/{org.short.qr_token}"
    base = int((utcnow() - timedelta(hours=1)).timestamp() * 1000)
    # Queued 2 minutes apart, sent together when the connection returned: not a burst.
    for i, offset in enumerate((0, 120_000, 121_000)):
        answers = {**SHORT_ANSWERS, "q-OVERALL": str(i + 1), "answered_at": str(base + offset)}
        post_form(client, url, answers, fields={**open_form(client, url), "nonce": f"kiosk-burst-{i:012d}"})
    flags = [r.flags for r in db.session.scalars(select(Response).order_by(Response.id))]
    assert flags == [None, None, "burst"]


def test_service_worker_and_session_token(client, org):
    worker = client.get("/k/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert b"caches" in worker.data and b"self.addEventListener" in worker.data
    session = client.get(f"/k/{org.short.qr_token}/session")
    assert session.status_code == 200 and "csrf" in session.get_json()
    assert session.headers["Cache-Control"] == "no-store"
    assert client.get("/k/no-such-token/session").status_code == 404
