"""A database connection lost in the middle of a citizen's request: run once more, else a 503 with the
form; never a 500, never a response stored twice.

On PostgreSQL (TEST_DATABASE_URL) the app's backend is really terminated with
pg_terminate_backend, from a separate connection, just before the statement
chosen; on SQLite the driver's connection is closed under it, which SQLAlchemy
treats as a lost connection too.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import Response
from tests.public.conftest import SHORT_ANSWERS, build_org, open_form

VI_MESSAGE = "Hệ thống đang tạm thời gián đoạn"
EN_MESSAGE = "The service is briefly unavailable"


def _stored(nonce: str) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Response).where(Response.nonce == nonce))


@pytest.fixture
def org(app):
    """The small organisation of the citizen tests."""
    return build_org()


@pytest.fixture
def cut(app):
    """cut(prefix, times): lose the connection before the next `times` statements starting with
    `prefix` (e.g. "INSERT INTO response", "COMMIT")."""
    engine = db.engine
    plan = {"prefix": None, "left": 0, "done": 0}

    def lose(dbapi_connection) -> None:
        plan["left"] -= 1
        plan["done"] += 1
        if engine.dialect.name == "postgresql":
            import psycopg

            pid = dbapi_connection.info.backend_pid
            url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        else:
            dbapi_connection.close()  # what follows fails with "Cannot operate on a closed database."

    @event.listens_for(engine, "before_cursor_execute")
    def before_statement(conn, cursor, statement, *args):
        # On PostgreSQL a citizen's response is inserted inside "WITH response AS (INSERT INTO response …".
        text = statement.lstrip().removeprefix("WITH response AS (")
        if plan["left"] > 0 and text.startswith(plan["prefix"]):
            lose(conn.connection.dbapi_connection)

    @event.listens_for(engine, "commit")
    def before_commit(conn):
        if plan["left"] > 0 and plan["prefix"] == "COMMIT":
            lose(conn.connection.dbapi_connection)

    def arm(prefix: str, times: int = 1) -> dict:
        plan.update(prefix=prefix, left=times, done=0)
        return plan

    yield arm
    plan["left"] = 0
    event.remove(engine, "before_cursor_execute", before_statement)
    event.remove(engine, "commit", before_commit)


@pytest.mark.parametrize("where", ["INSERT INTO response", "COMMIT"])
def test_a_connection_lost_once_mid_submission_is_retried_and_stored_once(client, org, cut, where):
    url = f"/s/{org.short.qr_token}"
    fields = open_form(client, url)
    plan = cut(where)
    sent = client.post(url, data={**fields, **SHORT_ANSWERS})
    assert plan["done"] == 1, "the connection was not cut"
    assert sent.status_code == 303 and "/thanks" in sent.headers["Location"]
    assert client.get(sent.headers["Location"]).status_code == 200
    assert _stored(fields["nonce"]) == 1


def test_a_connection_lost_twice_gives_the_form_back_with_a_503_in_vietnamese(client, org, cut):
    url = f"/s/{org.full.qr_token}"
    fields = open_form(client, url)
    answers = {"q-OVERALL": "4", "q-E1_1": "5", "service": str(org.birth.id)}
    cut("INSERT INTO response", times=2)
    page = client.post(url, data={**fields, **answers})
    html = page.get_data(as_text=True)
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert VI_MESSAGE in html
    # The answers, the service chosen and the very same nonce are kept, so sending again stores it once.
    assert 'name="q-OVERALL" value="4" checked' in html and 'name="q-E1_1" value="5" checked' in html
    assert f'name="nonce" value="{fields["nonce"]}"' in html
    assert f'<option value="{org.birth.id}" selected>' in html
    assert _stored(fields["nonce"]) == 0
    again = client.post(url, data={**fields, **answers})
    assert again.status_code == 303
    assert _stored(fields["nonce"]) == 1


def test_the_503_form_speaks_english_when_asked(client, org, cut):
    url = f"/s/{org.short.qr_token}"
    fields = open_form(client, url + "?lang=en")
    cut("INSERT INTO response", times=2)
    page = client.post(url, data={**fields, **SHORT_ANSWERS})
    assert page.status_code == 503
    assert EN_MESSAGE in page.get_data(as_text=True)
    assert _stored(fields["nonce"]) == 0


def test_the_kiosk_form_comes_back_too(client, org, cut):
    url = f"/k/{org.short.qr_token}"
    fields = open_form(client, url)
    cut("INSERT INTO response", times=2)
    page = client.post(url, data={**fields, **SHORT_ANSWERS})
    assert page.status_code == 503 and VI_MESSAGE in page.get_data(as_text=True)
    assert 'name="q-E2_1" value="4" checked' in page.get_data(as_text=True)


def test_pages_that_only_read_are_retried_or_a_503_never_a_500(client, org, cut):
    url = f"/s/{org.short.qr_token}"
    cut("SELECT", times=1)
    assert client.get(url).status_code == 200
    cut("SELECT", times=2)
    page = client.get(url)
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert "503" in page.get_data(as_text=True)
