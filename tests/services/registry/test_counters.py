"""`flask counters list`, the home page and the QR landing addresses."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from app.extensions import db
from app.models import ServicePoint


def test_counters_list_csv_and_every_url_opens(runner, client, demo):
    result = runner.invoke(args=["counters", "list", "--format", "csv"])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert list(rows[0]) == ["code", "agency", "name", "url"]
    assert len(rows) == demo.counters
    for row in rows:
        assert row["url"].startswith("http://localhost/s/")
        page = client.get(row["url"].removeprefix("http://localhost"))
        assert page.status_code == 200, row
        assert row["code"] and row["agency"] in row["code"]


def test_revoked_token_is_a_friendly_404(client, demo):
    counter = db.session.scalar(select(ServicePoint).limit(1))
    counter.qr_token_revoked = True
    db.session.commit()
    page = client.get(f"/s/{counter.qr_token}")
    assert page.status_code == 404
    assert "Không tìm thấy trang" in page.get_data(as_text=True)
    assert client.get("/s/not-a-token").status_code == 404


def test_qr_tokens_are_unguessable_and_distinct(demo):
    tokens = list(db.session.scalars(select(ServicePoint.qr_token)))
    assert len(set(tokens)) == len(tokens)
    assert all(len(t) >= 22 for t in tokens)


def test_home_lists_the_demo_agencies(client, demo):
    body = client.get("/").get_data(as_text=True)
    assert "Tỉnh Sông Xanh (dữ liệu mẫu)" in body
    assert "Sở Tư pháp" in body and body.count("<li>") >= 130
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "Department of Justice" in english


def test_home_without_agencies(client):
    assert "Chưa có cơ quan nào" in client.get("/").get_data(as_text=True)


def test_deactivated_agency_takes_its_counters_off_the_air(client, demo):
    from app.models import Agency

    counter = db.session.scalar(select(ServicePoint).limit(1))
    assert client.get(f"/s/{counter.qr_token}").status_code == 200
    db.session.get(Agency, counter.agency_id).active = False
    db.session.commit()
    assert client.get(f"/s/{counter.qr_token}").status_code == 404
