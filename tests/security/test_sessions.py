"""A session ends on logout, a password change and deactivation: a copied cookie stops working."""

from __future__ import annotations

from app.extensions import db
from tests.admin.conftest import PASSWORD, login_as


def _logged_in(app, email: str, password: str = PASSWORD):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert client.get("/admin/counters").status_code == 200
    return client


def _replay(app, cookie: str):
    """A fresh browser carrying a copy of the session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief.get("/admin/counters")


def _assert_sent_to_login(response) -> None:
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=%2Fadmin%2Fcounters"


def test_a_cookie_copied_before_logout_is_dead_after_it(app, tree):
    client = _logged_in(app, "manager@example.org")
    copied = client.get_cookie("session").value
    assert _replay(app, copied).status_code == 200  # the copy works while the session lives
    assert client.post("/auth/logout").headers["Location"] == "/auth/login"
    _assert_sent_to_login(_replay(app, copied))
    _assert_sent_to_login(client.get("/admin/counters"))
    # Logging in again opens a new session that works.
    assert _logged_in(app, "manager@example.org").get("/admin/counters").status_code == 200


def test_a_password_change_ends_copies_but_keeps_the_changing_session(app, tree):
    client = _logged_in(app, "manager@example.org")
    copied = client.get_cookie("session").value
    changed = client.post("/auth/password", data={"current": PASSWORD, "new": "quiet lantern orchard",
                                                  "confirm": "quiet lantern orchard"})
    assert changed.status_code == 302
    assert client.get("/admin/counters").status_code == 200
    _assert_sent_to_login(_replay(app, copied))


def test_deactivation_by_an_administrator_ends_the_session(app, tree):
    client = _logged_in(app, "manager@example.org")
    copied = client.get_cookie("session").value
    admin = app.test_client()
    login_as(admin, tree.users["administrator"])
    manager = tree.users["manager"]
    saved = admin.post(f"/admin/users/{manager.id}", data={
        "name": "", "role": "manager", "agency_id": tree.district.id})  # "active" unticked
    assert saved.status_code == 302
    db.session.refresh(manager)
    assert manager.active is False and manager.session_version == 1
    _assert_sent_to_login(_replay(app, copied))
    _assert_sent_to_login(client.get("/admin/counters"))
    # Reactivated, the old cookie stays dead: only a new login opens a session.
    manager.active = True
    db.session.commit()
    _assert_sent_to_login(_replay(app, copied))


def test_a_forged_or_old_format_session_id_is_refused(app, tree):
    user = tree.users["administrator"]
    for session_id in (f"{user.id}:{user.password_hash[-16:]}", f"{user.id}:7:{user.password_hash[-16:]}",
                       "x:0:y", f"{user.id}", "9" * 40 + ":0:x"):
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = session_id
        _assert_sent_to_login(client.get("/admin/counters"))
