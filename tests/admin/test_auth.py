"""Login, logout, password change, throttling, CSRF and the create-admin command."""

from __future__ import annotations

import re

import pytest

from app import create_app
from app.extensions import db
from app.models import AuditEvent, User
from tests.admin.conftest import PASSWORD, login_as


def _login(client, email, password=PASSWORD, next_url=""):
    return client.post("/auth/login", data={"email": email, "password": password, "next": next_url})


def test_login_lands_on_admin_home_and_logout_ends_the_session(client, tree):
    response = _login(client, "ADMIN@example.org ")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.post("/auth/logout").status_code == 302
    assert client.get("/admin/").status_code == 302  # back to the login page
    assert db.session.query(AuditEvent).filter_by(action="user.login").count() == 1


def test_wrong_password_and_unknown_email_get_the_same_answer(client, tree):
    wrong = _login(client, "admin@example.org", "not the password")
    unknown = _login(client, "nobody@example.org")
    assert wrong.status_code == unknown.status_code == 200
    assert wrong.get_data(as_text=True).count("<form") == unknown.get_data(as_text=True).count("<form")
    assert client.get("/admin/").status_code == 302
    failed = db.session.query(AuditEvent).filter_by(action="user.login_failed").all()
    assert sorted(e.target for e in failed) == ["admin@example.org", "nobody@example.org"]
    assert {e.actor for e in failed} == {"anonymous"}


def test_deactivated_account_cannot_log_in(client, tree):
    tree.users["manager"].active = False
    db.session.commit()
    assert _login(client, "manager@example.org").status_code == 200


def test_leader_lands_on_reports(client, tree):
    assert _login(client, "leader@example.org").headers["Location"] == "/reports/"


@pytest.mark.parametrize(
    "target", ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_next_never_leaves_the_site(client, tree, target):
    assert _login(client, "admin@example.org", next_url=target).headers["Location"] == "/admin/"


def test_next_on_the_site_is_followed(client, tree):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/auth/login?next=" in response.headers["Location"]
    assert _login(client, "admin@example.org", next_url="/admin/users").headers["Location"] == "/admin/users"


def test_password_change_needs_the_current_password_and_ends_other_sessions(app, client, tree):
    other = app.test_client()
    user = tree.users["designer"]
    login_as(client, user)
    login_as(other, user)
    refused = client.post("/auth/password", data={"current": "wrong", "new": "a new long secret", "confirm":
                                                  "a new long secret"})
    assert refused.status_code == 200
    weak = client.post("/auth/password", data={"current": PASSWORD, "new": "aaaaaaaaaaaa",
                                               "confirm": "aaaaaaaaaaaa"})
    assert weak.status_code == 200
    done = client.post("/auth/password", data={"current": PASSWORD, "new": "a new long secret",
                                               "confirm": "a new long secret"})
    assert done.status_code == 302
    assert client.get("/admin/").status_code == 200    # this session carries the new stamp
    assert other.get("/admin/").status_code == 302     # the other one ended
    assert _login(app.test_client(), "designer@example.org", "a new long secret").status_code == 302


def test_login_is_throttled(tree, database_url, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": database_url,
                      "INSTANCE_PATH": str(tmp_path), "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": True,
                      "LOGIN_ACCOUNT_RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    with app.app_context():
        codes = [_login(client, "admin@example.org", "wrong password").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        # The right password is refused too while the account is throttled.
        assert _login(client, "admin@example.org").status_code == 429
        db.session.remove()
        db.engine.dispose()


def test_csrf_is_enforced_on_login_and_logout(tree, database_url, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": database_url,
                      "INSTANCE_PATH": str(tmp_path), "RATELIMIT_ENABLED": False})
    client = app.test_client()
    with app.app_context():
        assert _login(client, "admin@example.org").status_code == 400
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        ok = client.post("/auth/login", data={"email": "admin@example.org", "password": PASSWORD,
                                              "csrf_token": token})
        assert ok.status_code == 302
        assert client.post("/admin/users/new", data={"email": "x@example.org"}).status_code == 400
        db.session.remove()
        db.engine.dispose()


def test_create_admin_command(runner):
    result = runner.invoke(args=["users", "create-admin", "--email", "Boss@Example.org"],
                           input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 0, result.output
    user = db.session.query(User).one()
    assert user.email == "boss@example.org" and user.role == "administrator"
    assert user.password_hash.startswith("scrypt:")
    again = runner.invoke(
        args=["users", "create-admin", "--email", "boss@example.org", "--password", "x" * 12]
    )
    assert again.exit_code == 1 and "already exists" in again.output
    weak = runner.invoke(args=["users", "create-admin", "--email", "b@example.org", "--password", "short"])
    assert weak.exit_code == 1 and "at least 10" in weak.output


def test_set_password_command(runner, tree):
    result = runner.invoke(args=["users", "set-password", "--email", "manager@example.org",
                                 "--password", "a brand new secret"])
    assert result.exit_code == 0, result.output
    db.session.refresh(tree.users["manager"])
    assert tree.users["manager"].password_hash.startswith("scrypt:")
    unknown = runner.invoke(
        args=["users", "set-password", "--email", "x@example.org", "--password", "x" * 12]
    )
    assert unknown.exit_code == 1 and "no account" in unknown.output
    assert db.session.query(AuditEvent).filter_by(action="user.password_reset", actor="system").count() == 1
