"""Agencies, services and counters in the browser, and their CSV imports (all or nothing)."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.extensions import db
from app.models import Agency, AuditEvent, Service, ServicePoint
from tests.admin.conftest import login_as


def _upload(client, url, text, name="data.csv"):
    return client.post(url, data={"file": (io.BytesIO(text.encode("utf-8")), name)},
                       content_type="multipart/form-data")


def test_admin_creates_edits_and_deactivates_an_agency(client, tree):
    login_as(client, tree.users["administrator"])
    response = client.post("/admin/agencies/new", data={
        "code": "X2", "name_vi": "Xã Mới", "name_en": "New Commune", "level": "commune",
        "parent_id": tree.district.id, "active": "y"})
    assert response.status_code == 302
    agency = db.session.scalar(select(Agency).where(Agency.code == "X2"))
    assert agency.parent_id == tree.district.id
    taken = client.post(f"/admin/agencies/{agency.id}", data={
        "code": "P", "name_vi": "a", "name_en": "b", "level": "commune", "parent_id": 0, "active": "y"})
    assert taken.status_code == 200 and "đã được dùng cho cơ quan khác" in taken.get_data(as_text=True)
    loop = client.post(f"/admin/agencies/{tree.district.id}", data={
        "code": "H1", "name_vi": "a", "name_en": "b", "level": "district", "parent_id": tree.commune.id,
        "active": "y"})
    assert "không thể nằm dưới chính nó" in loop.get_data(as_text=True)
    assert client.post(f"/admin/agencies/{agency.id}/active", data={"active": "0"}).status_code == 302
    db.session.refresh(agency)
    assert agency.active is False
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"agency.create", "agency.deactivate"} <= actions


def test_manager_creates_a_counter_in_scope_with_services(client, tree):
    service = Service(code="S1", name_vi="Dịch vụ", name_en="Service", active=True)
    db.session.add(service)
    db.session.commit()
    login_as(client, tree.users["manager"])
    page = client.get("/admin/counters/new").get_data(as_text=True)
    assert f'value="{tree.department.id}"' not in page  # outside agencies are not offered
    response = client.post("/admin/counters/new", data={
        "code": "X1-Q2", "agency_id": tree.commune.id, "name_vi": "Quầy 2", "name_en": "Counter 2",
        "questionnaire_id": 0, "service_ids": [service.id], "active": "y"})
    assert response.status_code == 302
    counter = db.session.scalar(select(ServicePoint).where(ServicePoint.code == "X1-Q2"))
    assert [s.code for s in counter.services] == ["S1"] and counter.qr_token
    listing = client.get("/admin/counters").get_data(as_text=True)
    assert "X1-Q2" in listing and "D1-Q1" not in listing


AGENCIES_CSV = """code,name_vi,name_en,level,parent
H2,Huyện Hai,District Two,district,P
X21,Xã Một,Commune One,commune,H2
"""


def test_agency_import_all_or_nothing(client, tree):
    login_as(client, tree.users["administrator"])
    bad = AGENCIES_CSV + "X22,Xã Hai,,hamlet,NOPE\n"
    response = _upload(client, "/admin/agencies/import", bad)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    # The admin pages speak Vietnamese by default: the errors too, each field named once.
    assert "dòng 4, cột name_en: bắt buộc" in text
    assert "dòng 4, cột level: &#39;hamlet&#39; không thuộc các giá trị" in text
    assert "dòng 4, cột parent: không có cơ quan &#39;NOPE&#39;" in text
    english = _upload(client, "/admin/agencies/import?lang=en", bad, name="a.csv").get_data(as_text=True)
    assert "a.csv: row 4, column name_en: required" in english and "row 4, column level" in english
    assert db.session.scalar(select(Agency).where(Agency.code == "H2")) is None
    assert _upload(client, "/admin/agencies/import", AGENCIES_CSV).status_code == 200
    commune = db.session.scalar(select(Agency).where(Agency.code == "X21"))
    assert commune.parent.code == "H2"


def test_counter_import_checks_scope_and_references(client, tree):
    db.session.add(Service(code="S1", name_vi="a", name_en="b", active=True))
    db.session.commit()
    login_as(client, tree.users["manager"])
    csv_text = ("code,agency,name_vi,name_en,services,questionnaire\n"
                "X1-Q9,X1,Quầy 9,Counter 9,S1,\n"
                "D1-Q9,D1,Quầy,Counter,S1;S2,nope\n"
                "X1-Q9,X1,Quầy,Counter,,\n")
    response = _upload(client, "/admin/counters/import", csv_text)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    for expected in ("dòng 3, cột agency", "dòng 3, cột services: không có dịch vụ &#39;S2&#39;",
                     "dòng 3, cột questionnaire", "dòng 4, cột code"):
        assert expected in text
    assert db.session.scalar(select(ServicePoint).where(ServicePoint.code == "X1-Q9")) is None
    ok = _upload(client, "/admin/counters/import", "code,agency,name_vi,name_en,services\nX1-Q9,X1,Q,C,S1\n")
    assert ok.status_code == 200
    stored = db.session.scalar(select(ServicePoint).where(ServicePoint.code == "X1-Q9"))
    assert stored.services[0].code == "S1"


def test_service_import_and_bad_encoding(client, tree):
    login_as(client, tree.users["administrator"])
    ok = _upload(client, "/admin/services/import", "code,name_vi,name_en\nS7,Bảy,Seven\n")
    assert ok.status_code == 200
    assert db.session.scalar(select(Service.name_en).where(Service.code == "S7")) == "Seven"
    latin_file = (io.BytesIO("code\n\xe9".encode("latin-1")), "x.csv")
    latin = client.post("/admin/services/import", data={"file": latin_file},
                        content_type="multipart/form-data")
    assert latin.status_code == 422 and "x.csv: tệp không phải văn bản UTF-8" in latin.get_data(as_text=True)
    header = _upload(client, "/admin/services/import", "code,colour\n")
    assert "cột colour: cột không xác định" in header.get_data(as_text=True)


def test_qr_images_poster_rotation_and_revocation(client, tree):
    login_as(client, tree.users["manager"])
    counter = tree.counter_in
    png = client.get(f"/admin/counters/{counter.id}/qr.png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    svg = client.get(f"/admin/counters/{counter.id}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    poster = client.get(f"/admin/counters/{counter.id}/poster").get_data(as_text=True)
    old_token = counter.qr_token
    assert f"localhost/s/{old_token}" in poster and "quét mã QR" in poster and "@page" in poster
    assert "Cơ quan X1" in poster and "Quầy X1-Q1" in poster
    sheet = client.get(f"/admin/agencies/{tree.commune.id}/posters").get_data(as_text=True)
    assert sheet.count('class="poster"') == 1
    assert client.get(f"/s/{old_token}").status_code == 200
    # Rotation and revocation ask first (tests/security/test_confirmations.py has the details).
    assert client.post(f"/admin/counters/{counter.id}/rotate", data={"confirm": "yes"}).status_code == 302
    db.session.refresh(counter)
    assert counter.qr_token != old_token
    assert client.get(f"/s/{old_token}").status_code == 200  # the grace period of the old posters
    assert client.get(f"/s/{counter.qr_token}").status_code == 200
    assert client.post(f"/admin/counters/{counter.id}/revoke", data={"confirm": "yes"}).status_code == 302
    assert client.get(f"/s/{counter.qr_token}").status_code == 404
    assert client.get(f"/s/{old_token}").status_code == 404
    assert client.get(f"/admin/counters/{counter.id}/poster").status_code == 404
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"counter.qr_rotate", "counter.qr_revoke"} <= actions
