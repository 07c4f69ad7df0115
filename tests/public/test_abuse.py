"""Abuse resistance: CSRF, rate limits, honeypot and suspicious patterns flagged, never dropped."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import Response
from app.services.collect.abuse import ClientHistory, ClientVisit, read_client_history
from app.services.collect.counter import find_posting_counter
from tests.public.conftest import SHORT_ANSWERS, open_form, post_form


def _rows() -> list[Response]:
    db.session.expire_all()
    return list(db.session.scalars(select(Response).order_by(Response.id)))


def _from(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_csrf_is_enforced_and_an_expired_token_keeps_the_answers(app, org):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    url = f"/s/{org.short.qr_token}"
    fields = open_form(client, url)
    assert fields["csrf_token"]
    without_token = {k: v for k, v in fields.items() if k != "csrf_token"}
    forged = client.post(url, data={**without_token, **SHORT_ANSWERS})
    html = forged.get_data(as_text=True)
    assert forged.status_code == 400 and _rows() == []
    assert "Phiếu đã mở quá lâu" in html and 'name="q-E2_1" value="4" checked' in html
    assert client.post(url, data={**fields, "csrf_token": "bad", **SHORT_ANSWERS}).status_code == 400
    assert _rows() == []
    assert post_form(client, url, fields=fields).status_code == 303
    assert len(_rows()) == 1


def test_honeypot_is_stored_but_flagged(client, org):
    page = post_form(client, f"/s/{org.short.qr_token}", {**SHORT_ANSWERS, "website": "http://spam"})
    assert page.status_code == 303
    [row] = _rows()
    assert row.suspicious is True and row.flags == "honeypot"


def test_bursts_from_one_client_are_flagged_not_dropped(client, org):
    url = f"/s/{org.short.qr_token}"
    for rating in "1234":
        answers = {**SHORT_ANSWERS, "q-OVERALL": rating}
        assert post_form(client, url, answers, **_from("10.0.0.1")).status_code == 303
    assert post_form(client, url, **_from("10.0.0.2")).status_code == 303
    rows = _rows()
    assert [r.flags for r in rows] == [None, None, None, "burst", None]
    assert rows[0].client_hash == rows[3].client_hash != rows[4].client_hash


def test_identical_answer_sets_in_a_row_are_flagged(client, org):
    url = f"/s/{org.short.qr_token}"
    post_form(client, url, **_from("10.0.0.7"))
    post_form(client, url, **_from("10.0.0.7"))
    post_form(client, url, {**SHORT_ANSWERS, "q-COMMENT": "khác"}, **_from("10.0.0.7"))
    assert [r.flags for r in _rows()] == [None, "repeat", None]
    assert [r.suspicious for r in _rows()] == [False, True, False]


def test_the_history_read_with_the_counter_equals_its_own_query(client, org):
    """The citizen form reads the client's history in the counter's query; paper entry and receipts
    read it alone. Both must see the same count and the same latest answers."""
    url = f"/s/{org.short.qr_token}"
    for comment in ("một", "hai"):
        post_form(client, url, {**SHORT_ANSWERS, "q-COMMENT": comment}, **_from("10.0.0.9"))
    [first, latest] = _rows()
    for at in (latest.submitted_at, first.submitted_at, latest.submitted_at + timedelta(hours=1)):
        visit = ClientVisit(latest.client_hash, "qr", at)
        found = find_posting_counter(org.short.qr_token, "", visit)
        assert found.history == read_client_history(visit)
    visit = ClientVisit(latest.client_hash, "qr", latest.submitted_at)
    history = read_client_history(visit)
    assert history.earlier == 2  # both lie in the ten minutes either side of the visit
    assert history.previous[3] == sorted(latest.answers.items())
    assert read_client_history(ClientVisit(None, "qr", latest.submitted_at)) == ClientHistory(0, None)


def test_no_raw_address_is_stored(client, org):
    post_form(client, f"/s/{org.short.qr_token}", **_from("203.0.113.77"))
    [row] = _rows()
    stored = " ".join(str(getattr(row, c.name)) for c in Response.__table__.columns)
    assert "203.0.113.77" not in stored and len(row.client_hash) == 64


@pytest.fixture
def limited(app, database_url, tmp_path):
    """Build an app with rate limits on, in memory or in a given storage."""
    built = []

    def build(storage="memory://", **limits):
        built.append(create_app({
            "TESTING": True, "SECRET_KEY": "test-secret-key", "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(tmp_path / "limited"), "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": storage, **limits,
        }))
        return built[-1]

    yield build
    for other in built:  # each app has its own engine: close its connections
        with other.app_context():
            db.engine.dispose()


def _exhaust(limited_app, org):
    client = limited_app.test_client()
    short, full = f"/s/{org.short.qr_token}", f"/s/{org.full.qr_token}"
    statuses = [post_form(client, short, **_from("10.9.9.9")).status_code for _ in range(4)]
    other_counter = post_form(client, full, {"q-OVERALL": "5"}, **_from("10.9.9.9")).status_code
    other_client = post_form(client, short, **_from("10.9.9.8")).status_code
    still_reads = client.get(short, **_from("10.9.9.9")).status_code
    return statuses, other_counter, other_client, still_reads


def test_rate_limit_per_client_and_counter(limited, org):
    result = _exhaust(limited(SURVEY_RATE_LIMIT="3 per minute"), org)
    assert result == ([303, 303, 303, 429], 303, 303, 200)
    assert len(_rows()) == 5


def test_rate_limit_in_redis_when_configured(limited, org):
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    app = limited("redis://127.0.0.1:6379/0", SURVEY_RATE_LIMIT="3 per minute",
                  RATELIMIT_KEY_PREFIX=f"test-{org.short.qr_token}")
    assert _exhaust(app, org)[0] == [303, 303, 303, 429]
