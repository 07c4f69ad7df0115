"""Login, logout, password change, throttling, CSRF and the create-admin command."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import AuditEvent, LoginThrottle, User
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


def _login_from(client, address, email, password=PASSWORD):
    return client.post("/auth/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_failures_from_one_address_do_not_lock_the_owner_out(client, tree):
    codes = [_login_from(client, "203.0.113.9", "admin@example.org", "wrong password").status_code
             for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    # The stranger's address is refused, with the right password too, and told when to come back.
    refused = _login_from(client, "203.0.113.9", "admin@example.org")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 429 and "Quá nhiều lần nhập sai mật khẩu" in text and "1 phút" in text
    english = client.post("/auth/login?lang=en", data={"email": "admin@example.org", "password": "x"},
                          environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert "Try again in 1 min" in english.get_data(as_text=True)
    # The owner, from their own address, gets in at once.
    own_client = client.application.test_client()
    owner = _login_from(own_client, "198.51.100.7", "admin@example.org")
    assert owner.status_code == 302 and owner.headers["Location"] == "/admin/"
    assert own_client.get("/admin/").status_code == 200


def test_the_wait_grows_and_an_administrator_unlocks(client, tree):
    from app.services.accounts.throttle import delay_after

    assert [delay_after(n) for n in (4, 5, 6, 7)] == [None, *(timedelta(minutes=m) for m in (1, 2, 4))]
    assert delay_after(60) == timedelta(days=1)
    for _ in range(5):
        _login_from(client, "203.0.113.9", "manager@example.org", "wrong password")
    row = db.session.scalar(select(LoginThrottle))
    assert row.failures == 5 and row.client != "203.0.113.9" and len(row.client) == 64
    assert _login_from(client, "203.0.113.9", "manager@example.org").status_code == 429
    admin = client.application.test_client()
    login_as(admin, tree.users["administrator"])
    page = admin.get(f"/admin/users/{tree.users['manager'].id}").get_data(as_text=True)
    assert "bị chặn đăng nhập từ 1 địa chỉ" in page
    done = admin.post(f"/admin/users/{tree.users['manager'].id}/unlock")
    assert done.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 0
    event = db.session.query(AuditEvent).filter_by(action="user.unlock").one()
    assert (event.actor, event.target) == ("admin@example.org", "manager@example.org")
    assert event.detail == {"pairs": 1}
    assert _login_from(client, "203.0.113.9", "manager@example.org").status_code == 302


def test_two_app_instances_share_the_count(tree, database_url, tmp_path):
    # Two processes of `make run` (gunicorn workers) are two apps over one database.
    apps = [create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": database_url,
                        "INSTANCE_PATH": str(tmp_path / str(i)), "WTF_CSRF_ENABLED": False,
                        "RATELIMIT_ENABLED": True}) for i in (1, 2)]
    codes = []
    for attempt in range(6):
        app = apps[attempt % 2]
        with app.app_context():
            response = _login_from(app.test_client(), "203.0.113.9", "admin@example.org", "wrong")
            codes.append(response.status_code)
            db.session.remove()
    assert codes == [200, 200, 200, 200, 429, 429]
    for app in apps:
        with app.app_context():
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
                           input="quiet lantern orchard\nquiet lantern orchard\n")
    assert result.exit_code == 0, result.output
    user = db.session.query(User).one()
    assert user.email == "boss@example.org" and user.role == "administrator"
    assert user.password_hash.startswith("scrypt:")
    again = runner.invoke(
        args=["users", "create-admin", "--email", "boss@example.org", "--password", "quiet lantern orchard"]
    )
    assert again.exit_code == 1 and "already exists" in again.output
    weak = runner.invoke(args=["users", "create-admin", "--email", "b@example.org", "--password", "short"])
    assert weak.exit_code == 1 and "at least 12" in weak.output
    for common in ("1234567890ab", "password1234", "abcdabcdabcd", "passwordpassword"):
        refused = runner.invoke(args=["users", "create-admin", "--email", "c@example.org",
                                      "--password", common])
        assert refused.exit_code == 1 and "too easy to guess" in refused.output, common


def test_set_password_command(runner, tree):
    result = runner.invoke(args=["users", "set-password", "--email", "manager@example.org",
                                 "--password", "a brand new secret"])
    assert result.exit_code == 0, result.output
    db.session.refresh(tree.users["manager"])
    assert tree.users["manager"].password_hash.startswith("scrypt:")
    unknown = runner.invoke(
        args=["users", "set-password", "--email", "x@example.org", "--password", "quiet lantern orchard"]
    )
    assert unknown.exit_code == 1 and "no account" in unknown.output
    weak = runner.invoke(args=["users", "set-password", "--email", "manager@example.org",
                               "--password", "password12"])
    assert weak.exit_code == 1 and "at least 12" in weak.output
    assert db.session.query(AuditEvent).filter_by(action="user.password_reset", actor="system").count() == 1
