"""Dossier volumes: CSV import, the JSON API (token or session), and the response rate in reports."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from sqlalchemy import select

from app.extensions import db
from app.models import DossierVolume, Response
from app.services.accounts.users import issue_api_token
from app.services.questionnaires.versions import SURVEYS_DIR, publish_questionnaire, validate_file
from tests.admin.conftest import login_as


def _upload(client, text):
    return client.post("/admin/volumes/import", data={"file": (io.BytesIO(text.encode()), "v.csv")},
                       content_type="multipart/form-data")


def test_csv_import_is_all_or_nothing_and_replaces_a_month(client, tree):
    login_as(client, tree.users["manager"])
    bad = "agency,service_point,month,dossiers\nX1,,2025-06,120\nD1,,2025-06,5\nX1,X1-Q1,2025-13,-1\n"
    text = _upload(client, bad).get_data(as_text=True)
    for expected in ("v.csv: dòng 3, cột agency: &#39;D1&#39; nằm ngoài các cơ quan bạn quản lý",
                     "dòng 4, cột month: cần một tháng dạng 2025-06", "dòng 4, cột dossiers: phải từ 0 đến"):
        assert expected in text
    assert db.session.scalar(select(DossierVolume)) is None
    assert _upload(client, "agency,month,dossiers\nX1,2025-06,120\n").status_code == 200
    assert _upload(client, "agency,month,dossiers\nX1,2025-06,150\n").status_code == 200
    assert db.session.scalars(select(DossierVolume.dossiers)).all() == [150]


def test_json_api_with_a_token(client, tree):
    token = issue_api_token(tree.users["manager"], tree.users["administrator"])
    db.session.commit()
    url = "/admin/api/volumes"
    body = {"volumes": [{"agency": "X1", "month": "2025-06", "dossiers": 40},
                        {"agency": "X1", "service_point": "X1-Q1", "month": "2025-06", "dossiers": 30}]}
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    response = client.post(url, json=body, headers=auth)
    assert response.status_code == 200 and response.get_json() == {"stored": 2}
    outside = client.post(url, json={"volumes": [{"agency": "D1", "month": "2025-06", "dossiers": 1}]},
                          headers=auth)
    assert outside.status_code == 422 and "volumes[0].agency" in outside.get_json()["errors"][0]
    assert client.post(url, json={"volumes": "x"}, headers=auth).status_code == 422
    assert client.post(url, data="agency=X1", headers=auth).status_code == 415
    leader_token = issue_api_token(tree.users["leader"], tree.users["administrator"])
    db.session.commit()
    assert client.post(url, json=body, headers={"Authorization": f"Bearer {leader_token}"}).status_code == 403


def test_report_shows_the_response_rate(client, tree):
    version, _ = publish_questionnaire(validate_file(SURVEYS_DIR / "sipas-short.yaml"))
    for i in range(3):
        db.session.add(Response(uid=f"r{i}", version_id=version.id, agency_id=tree.commune.id, channel="qr",
                                submitted_at=datetime(2025, 6, 10, tzinfo=UTC), answers={}))
    db.session.add(DossierVolume(agency_id=tree.commune.id, month=date(2025, 6, 1), dossiers=60))
    db.session.commit()
    login_as(client, tree.users["leader"])
    page = client.get(f"/reports/agencies/{tree.district.id}").get_data(as_text=True)
    assert "2025-06" in page and "5.00 %" in page
