"""Accounts page: create, change role (audited), API tokens, and the audit log page."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, User
from tests.admin.conftest import login_as


def test_admin_creates_an_account_and_changes_its_role(client, tree):
    login_as(client, tree.users["administrator"])
    missing_agency = client.post("/admin/users/new", data={
        "email": "new@example.org", "role": "manager", "agency_id": 0, "password": "long enough pw"})
    assert missing_agency.status_code == 200 and "needs an agency" in missing_agency.get_data(as_text=True)
    created = client.post("/admin/users/new", data={
        "email": "New@Example.org", "role": "manager", "agency_id": tree.district.id,
        "password": "long enough pw"})
    assert created.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new@example.org"))
    assert user.role == "manager" and user.agency_id == tree.district.id
    changed = client.post(f"/admin/users/{user.id}", data={"role": "leader", "agency_id": tree.province.id,
                                                           "active": "y", "name": "Lãnh đạo"})
    assert changed.status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.role"))
    assert event.actor == "admin@example.org" and event.detail == {"old": "manager", "new": "leader",
                                                                   "agency": "P"}
    page = client.get("/admin/audit?action=user.role").get_data(as_text=True)
    assert "new@example.org" in page and "user.create" not in page.split("<tbody>")[1]


def test_administrator_cannot_demote_themselves(client, tree):
    admin = tree.users["administrator"]
    login_as(client, admin)
    response = client.post(f"/admin/users/{admin.id}", data={"role": "designer", "agency_id": 0,
                                                              "active": "y"})
    assert response.status_code == 200
    db.session.refresh(admin)
    assert admin.role == "administrator"


def test_api_token_is_shown_once_and_stored_hashed(client, tree):
    login_as(client, tree.users["administrator"])
    manager = tree.users["manager"]
    page = client.post(f"/admin/users/{manager.id}/api-token").get_data(as_text=True)
    token = page.split('<code id="token">')[1].split("</code>")[0]
    db.session.refresh(manager)
    assert len(token) > 30 and manager.api_token_hash and token not in manager.api_token_hash


WEAK = ("1234567890", "password12", "abcdabcdab", "passwordpassword", "1234567890ab", "qwertyuiopas",
        "new@example.org")


def test_weak_passwords_are_refused_with_a_clear_message_in_both_languages(client, tree):
    from app.services.accounts.users import password_problem

    login_as(client, tree.users["administrator"])
    for weak in WEAK:
        assert password_problem(weak, "new@example.org") is not None, weak
        page = client.post("/admin/users/new", data={
            "email": "new@example.org", "role": "designer", "agency_id": 0, "password": weak})
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and ("quá dễ đoán" in text or "ít nhất 12 ký tự" in text
                                            or "phải khác địa chỉ e-mail" in text), weak
    english = client.post("/admin/users/new?lang=en", data={
        "email": "new@example.org", "role": "designer", "agency_id": 0, "password": "passwordpassword"})
    assert "this password is too easy to guess" in english.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "new@example.org")) is None
    assert password_problem("quiet lantern orchard") is None


def test_a_password_change_refuses_weak_passwords(client, tree):
    login_as(client, tree.users["designer"])
    before = tree.users["designer"].password_hash
    for weak in WEAK[:4]:
        page = client.post("/auth/password", data={"current": "correct horse battery", "new": weak,
                                                   "confirm": weak})
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and ("quá dễ đoán" in text or "ít nhất 12 ký tự" in text), weak
    db.session.refresh(tree.users["designer"])
    assert tree.users["designer"].password_hash == before
