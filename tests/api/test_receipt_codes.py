"""POST /api/v1/receipt-codes: issuing a dossier's signed rating code for the one-stop system."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Agency, ServicePoint
from app.models.auth import User
from app.services.accounts.users import issue_api_token

URL = "/api/v1/receipt-codes"


def _account(role: str, agency_code: str | None) -> str:
    agency = db.session.scalar(select(Agency).where(Agency.code == agency_code)) if agency_code else None
    user = User(email=f"{role}-{agency_code}@example.org", role=role, password_hash="x", name="",
                agency_id=agency.id if agency else None, active=True)
    db.session.add(user)
    db.session.flush()
    token = issue_api_token(user, user)
    db.session.commit()
    return token


def _counter(agency_code: str) -> ServicePoint:
    return db.session.scalar(select(ServicePoint).join(Agency).where(Agency.code == agency_code))


def test_manager_issues_a_code_that_opens_the_rating_page_once(client, demo):
    token = _account("manager", "DEMO-H01")
    counter = _counter("DEMO-H01-X01")
    response = client.post(URL, json={"service_point": counter.code, "dossier": "HS-2025-001", "days": 3},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["url"] == f"http://localhost/r/{body['code']}"
    assert body["expires_at"] > "2025"
    page = client.get(f"/r/{body['code']}")
    assert page.status_code == 200
    assert counter.agency.name_vi in page.get_data(as_text=True)


@pytest.mark.parametrize("role, agency, status", [
    ("manager", "DEMO-H02", 403),      # outside the manager's subtree
    ("leader", "DEMO-H01", 403),       # leaders read reports only
    ("administrator", None, 201),
])
def test_roles_and_scope(client, demo, role, agency, status):
    token = _account(role, agency)
    response = client.post(URL, json={"service_point": _counter("DEMO-H01-X01").code, "dossier": "D1"},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status, response.get_json()


@pytest.mark.parametrize("body, status, message", [
    ({"service_point": "NOPE", "dossier": "D1"}, 404, "no active service point"),
    # PostgreSQL refuses a NUL byte in a query parameter (this was a 500 there): refused where it enters.
    ({"service_point": "DEMO-H01-X01-Q1\x00", "dossier": "D1"}, 400, "NUL"),
    ({"service_point": "DEMO-H01-X01-Q1", "dossier": "bad id!"}, 400, "dossier id"),
    ({"service_point": "DEMO-H01-X01-Q1", "dossier": "D1", "days": 0}, 400, "days must be"),
    ({"dossier": "D1"}, 400, "send JSON"),
])
def test_bad_requests_are_clear(client, demo, body, status, message):
    token = _account("administrator", None)
    response = client.post(URL, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status and message in response.get_json()["message"]


def test_without_token(client, demo):
    assert client.post(URL, json={}).status_code == 401
    assert client.post(URL, json={}, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_answer_matches_the_openapi_file(client, demo):
    from pathlib import Path

    import yaml

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "api" / "openapi.yaml").read_text())
    operation = spec["paths"]["/receipt-codes"]["post"]
    schema = operation["responses"]["201"]["content"]["application/json"]["schema"]
    token = _account("administrator", None)
    response = client.post(URL, json={"service_point": _counter("DEMO-H01").code, "dossier": "D9"},
                           headers={"Authorization": f"Bearer {token}"})
    body = response.get_json()
    assert str(response.status_code) in operation["responses"]
    assert set(schema["required"]) <= set(body) and all(isinstance(body[k], str) for k in schema["required"])
    bad = client.post(URL, json={"dossier": "x"}, headers={"Authorization": f"Bearer {token}"})
    assert str(bad.status_code) in operation["responses"] and set(bad.get_json()) == {"error", "message"}
