"""An outage (issue 21, finding 6): with the database refusing connections every citizen post gets its
form back with a 503, the answers and the same nonce; no error handler queries the database; no 500.

The outage is real: the app's engine is swapped for one pointed at a closed port of this machine
(127.0.0.1:<free port>), so every connection attempt is refused by the kernel, exactly what the app
sees when PostgreSQL is down. The forms are opened first on the suite's database (SQLite, or
PostgreSQL with TEST_DATABASE_URL), as a citizen would before the outage began.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket

import pytest
from sqlalchemy import create_engine, func, select

from app.extensions import db
from app.models import Response
from tests.admin.conftest import _fresh_login_per_request, login_as, make_user  # noqa: F401 (fixture)
from tests.public.conftest import SHORT_ANSWERS, build_org, open_form

VI_MESSAGE = "Hệ thống đang tạm thời gián đoạn"
EN_MESSAGE = "The service is briefly unavailable"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


@contextlib.contextmanager
def refused(app):
    """The app's database refuses every connection until the block ends."""
    engines = db._app_engines[app]  # Flask-SQLAlchemy 3: the app's engines by bind key
    real = engines[None]
    db.session.remove()
    down = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/sipas",
                         connect_args={"connect_timeout": 2}, pool_pre_ping=True)
    engines[None] = down
    try:
        yield
    finally:
        db.session.remove()
        engines[None] = real
        down.dispose()


@pytest.fixture
def org(app):
    """The small organisation of the citizen tests."""
    return build_org()


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def _stored(nonce: str) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Response).where(Response.nonce == nonce))


def _no_traceback(caplog) -> None:
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], \
        [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("kind", ["s", "k"])
def test_a_post_during_the_outage_gets_its_form_back_with_the_same_nonce(csrf_app, org, caplog, kind):
    client = csrf_app.test_client()
    url = f"/{kind}/{org.full.qr_token}"
    fields = open_form(client, url)
    answers = {"q-OVERALL": "4", "q-E1_1": "5", "service": str(org.birth.id), "q-COMMENT": "Giữ lại"}
    with refused(csrf_app):
        page = client.post(url, data={**fields, **answers})
    html = page.get_data(as_text=True)
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert VI_MESSAGE in html
    assert 'name="q-OVERALL" value="4" checked' in html and 'name="q-E1_1" value="5" checked' in html
    assert f'name="nonce" value="{fields["nonce"]}"' in html
    assert f'<option value="{org.birth.id}" selected>' in html
    assert "Giữ lại" in html
    _no_traceback(caplog)
    # Once the database is back, sending the form again (its new CSRF token) stores it once.
    again = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    assert again["nonce"] == fields["nonce"]
    assert client.post(url, data={**again, **answers}).status_code == 303
    assert _stored(fields["nonce"]) == 1


def test_a_worker_that_never_drew_the_form_gives_the_answers_back_as_they_came(csrf_app, org, caplog):
    opener = csrf_app.test_client()
    url = f"/s/{org.short.qr_token}"
    fields = open_form(opener, url)
    csrf_app.extensions.pop("sipas.forms", None)  # as in a worker started during the outage
    with refused(csrf_app):
        page = opener.post(url + "?lang=en", data={**fields, **SHORT_ANSWERS})
    html = page.get_data(as_text=True)
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert EN_MESSAGE in html
    kept = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    assert kept["nonce"] == fields["nonce"] and kept["version_id"] == fields["version_id"]
    assert kept["q-COMMENT"] == SHORT_ANSWERS["q-COMMENT"] and kept["q-E1_1"] == "5"
    assert kept["csrf_token"]  # a fresh one, from the session: no query
    _no_traceback(caplog)
    assert opener.post(url, data=kept).status_code == 303
    assert _stored(fields["nonce"]) == 1


def test_a_post_without_a_csrf_session_during_the_outage_keeps_the_answers(csrf_app, org, caplog):
    url, kiosk = f"/s/{org.short.qr_token}", f"/k/{org.full.qr_token}"
    open_form(csrf_app.test_client(), url)  # this process has drawn the form, not the kiosk's
    stranger = csrf_app.test_client()  # no session, so no valid CSRF token
    with refused(csrf_app):
        page = stranger.post(url, data={"q-COMMENT": "Vẫn còn đây", "nonce": "n" * 22})
        fresh = stranger.post(kiosk, data={"q-COMMENT": "Cũng còn"})
    assert page.status_code == 400 and "Vẫn còn đây" in page.get_data(as_text=True)
    assert 'name="nonce" value="' + "n" * 22 + '"' in page.get_data(as_text=True)
    assert fresh.status_code == 400 and "Cũng còn" in fresh.get_data(as_text=True)
    _no_traceback(caplog)


def test_every_other_page_is_a_503_during_the_outage_never_a_500(app, org, caplog):
    admin = make_user("outage-admin@example.org", "administrator")
    db.session.commit()
    client = app.test_client()
    staff = app.test_client()
    login_as(staff, admin)
    token = org.short.qr_token
    with refused(app):
        assert client.get("/r/not-a-code").status_code == 404  # unreadable without the database
        for path in ("/", f"/s/{token}", f"/k/{token}", f"/k/{token}/session", f"/thanks?n={'x' * 22}"):
            reply = client.get(path)
            assert reply.status_code == 503, path
            assert reply.headers["Retry-After"] == "5"
        assert client.get("/healthz").status_code == 503
        assert client.get("/healthz").get_json()["status"] == "error"
        for path in ("/admin/", "/admin/counters", "/reports/overview", "/admin/audit"):
            reply = staff.get(path)
            assert reply.status_code == 503, path
            assert "503" in reply.get_data(as_text=True)
        login = client.post("/auth/login", data={"email": "outage-admin@example.org", "password": "x" * 12})
        assert login.status_code == 503
        api = client.get("/api/v1/indices", headers={"Authorization": "Bearer nothing"})
        assert api.status_code == 503 and api.is_json
    _no_traceback(caplog)
