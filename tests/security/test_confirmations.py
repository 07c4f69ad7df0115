"""Destructive admin actions ask first on a page of their own; a rotated QR's old address keeps
working for QR_ROTATION_GRACE_DAYS, a revoked one stops at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Response, ServicePoint, User
from app.models.base import utcnow
from tests.admin.conftest import login_as
from tests.public.conftest import open_form, post_form


def _admin(client, org):
    admin = User(email="admin@example.org", role="administrator", password_hash="x", name="", active=True)
    db.session.add(admin)
    db.session.commit()
    login_as(client, admin)
    return client


def _responses() -> int:
    return db.session.scalar(select(func.count()).select_from(Response))


def test_rotation_asks_then_keeps_the_old_address_for_the_grace_period(app, client, org):
    counter = org.short
    _admin(client, org)
    old = counter.qr_token
    url = f"/admin/counters/{counter.id}/rotate"
    page = client.get(url).get_data(as_text=True)
    assert "Đổi mã QR?" in page and "vẫn dùng được thêm 14 ngày" in page
    assert 'name="confirm" value="yes"' in page
    english = client.get(url + "?lang=en").get_data(as_text=True)
    assert "keeps working for 14 days" in english and "Yes, issue a new QR code" in english
    # A post without the confirmation only shows the page again.
    assert client.post(url).status_code == 200
    db.session.refresh(counter)
    assert counter.qr_token == old and counter.qr_token_previous is None
    done = client.post(url, data={"confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"] == f"/admin/counters/{counter.id}"
    db.session.refresh(counter)
    assert counter.qr_token != old and counter.qr_token_previous == old
    assert timedelta(days=13, hours=23) < counter.qr_token_previous_until - utcnow() <= timedelta(days=14)
    edit = client.get(f"/admin/counters/{counter.id}?lang=vi").get_data(as_text=True)
    assert 'id="reprint-notice"' in edit and "Hãy in áp phích mới" in edit
    # Both posters work during the grace period: the page, and a citizen's answer through the old one.
    citizen = app.test_client()
    assert citizen.get(f"/s/{old}").status_code == 200
    late = open_form(app.test_client(), f"/s/{old}")  # a form opened in the grace period, posted after
    assert post_form(citizen, f"/s/{old}").status_code == 303
    assert post_form(app.test_client(), f"/s/{counter.qr_token}").status_code == 303
    assert _responses() == 2
    # After the grace period the old address is "not found"; the new one works on.
    counter.qr_token_previous_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert citizen.get(f"/s/{old}").status_code == 404
    assert post_form(app.test_client(), f"/s/{old}", fields=late).status_code == 404
    assert citizen.get(f"/s/{counter.qr_token}").status_code == 200
    assert 'id="reprint-notice"' not in client.get(f"/admin/counters/{counter.id}").get_data(as_text=True)


def test_the_grace_period_is_a_setting(app, client, org):
    app.config["QR_ROTATION_GRACE_DAYS"] = 3
    _admin(client, org)
    assert "3 ngày" in client.get(f"/admin/counters/{org.short.id}/rotate").get_data(as_text=True)
    client.post(f"/admin/counters/{org.short.id}/rotate", data={"confirm": "yes"})
    db.session.refresh(org.short)
    assert timedelta(days=2, hours=23) < org.short.qr_token_previous_until - utcnow() <= timedelta(days=3)


def test_revocation_asks_then_stops_both_addresses_at_once(app, client, org):
    counter = org.short
    _admin(client, org)
    old = counter.qr_token
    client.post(f"/admin/counters/{counter.id}/rotate", data={"confirm": "yes"})
    db.session.refresh(counter)
    new = counter.qr_token
    forms = {token: open_form(app.test_client(), f"/s/{token}") for token in (old, new)}
    url = f"/admin/counters/{counter.id}/revoke"
    page = client.get(url).get_data(as_text=True)
    assert "Thu hồi mã QR?" in page and "ngừng hoạt động ngay" in page
    assert client.post(url).status_code == 200
    assert app.test_client().get(f"/s/{new}").status_code == 200  # nothing happened yet
    assert client.post(url, data={"confirm": "yes"}).status_code == 302
    for token in (old, new):
        assert app.test_client().get(f"/s/{token}").status_code == 404, token
        assert post_form(app.test_client(), f"/s/{token}", fields=forms[token]).status_code == 404, token
    # Rotating a revoked code gives the revoked address no grace.
    client.post(f"/admin/counters/{counter.id}/rotate", data={"confirm": "yes"})
    db.session.refresh(counter)
    assert counter.qr_token_previous is None and app.test_client().get(f"/s/{new}").status_code == 404
    assert app.test_client().get(f"/s/{counter.qr_token}").status_code == 200
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["counter.qr_rotate", "counter.qr_revoke", "counter.qr_rotate"]
    assert _responses() == 0


def test_deactivating_a_counter_asks_first_reactivating_does_not(app, client, org):
    counter = org.short
    _admin(client, org)
    listing = client.get("/admin/counters").get_data(as_text=True)
    assert f'href="/admin/counters/{counter.id}/active?active=0"' in listing
    page = client.get(f"/admin/counters/{counter.id}/active?active=0").get_data(as_text=True)
    assert "Ngừng hoạt động quầy này?" in page and 'name="active" value="0"' in page
    assert client.post(f"/admin/counters/{counter.id}/active", data={"active": "0"}).status_code == 200
    db.session.refresh(counter)
    assert counter.active is True
    done = client.post(f"/admin/counters/{counter.id}/active", data={"active": "0", "confirm": "yes"})
    assert done.status_code == 302
    db.session.refresh(counter)
    assert counter.active is False and app.test_client().get(f"/s/{counter.qr_token}").status_code == 404
    assert client.post(f"/admin/counters/{counter.id}/active", data={"active": "1"}).status_code == 302
    db.session.refresh(counter)
    assert counter.active is True
    assert db.session.scalar(select(ServicePoint.active).where(ServicePoint.id == counter.id)) is True


def test_unticking_active_in_the_counter_form_saves_the_rest_and_asks_first(app, client, org):
    counter = org.short
    _admin(client, org)
    form = {"code": counter.code, "agency_id": str(counter.agency_id), "name_vi": "Quầy mới",
            "name_en": "New desk", "questionnaire_id": str(counter.questionnaire_id or "")}
    saved = client.post(f"/admin/counters/{counter.id}", data=form)  # "active" not ticked
    assert saved.status_code == 302
    assert saved.headers["Location"] == f"/admin/counters/{counter.id}/active?active=0"
    db.session.refresh(counter)
    assert counter.name_vi == "Quầy mới" and counter.active is True  # the rest saved, still on the air
    assert app.test_client().get(f"/s/{counter.qr_token}").status_code == 200
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Ngừng hoạt động quầy này?" in page
