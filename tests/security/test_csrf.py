"""Every POST form refuses a request without, or with a wrong, CSRF token, and stores nothing."""

from __future__ import annotations

import re

import pytest

from tests.admin.conftest import login_as
from tests.security.conftest import row_counts

# Routes that take no form: JSON only, authenticated by a bearer token or a session (checked below).
NOT_FORMS = {"admin.volumes_api"}


def _post_rules(app) -> list[tuple[str, str]]:
    rules = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint in NOT_FORMS or rule.endpoint.startswith("api."):
            continue
        built = rule.build(dict.fromkeys(rule.arguments, 1), append_unknown=False)
        rules.append((rule.endpoint, built[1]))
    return sorted(rules)


def _real_path(path: str, org, tree) -> str:
    """Point the public routes at a real counter, so the refusal is not just a 404."""
    return re.sub(r"^/(s|k)/1$", lambda m: f"/{m.group(1)}/{org.short.qr_token}", path)


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_every_post_form_refuses_a_missing_or_wrong_token(csrf_client, app, tree, org, token):
    login_as(csrf_client, tree.users["administrator"])
    csrf_client.get("/admin/")  # the session now holds a real CSRF secret
    before = row_counts()
    rules = _post_rules(app)
    assert len(rules) >= 20, rules  # the admin forms, login, logout, password, survey, kiosk, receipt
    for endpoint, path in rules:
        data = {"email": "admin@example.org", "password": "x", "nonce": "a" * 22, "name_vi": "X"}
        if token is not None:
            data["csrf_token"] = token
        response = csrf_client.post(_real_path(path, org, tree), data=data)
        assert response.status_code == 400, (endpoint, path, response.status_code)
        assert "Traceback" not in response.get_data(as_text=True)
    assert row_counts() == before


def test_a_survey_post_without_token_keeps_the_answers_and_asks_again(csrf_client, org):
    response = csrf_client.post(f"/s/{org.short.qr_token}", data={"q-COMMENT": "Giữ lại câu trả lời"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Giữ lại câu trả lời" in body and 'name="csrf_token"' in body


def test_a_token_from_another_session_is_refused(csrf_client, app, org):
    other = app.test_client()
    page = other.get(f"/s/{org.short.qr_token}").get_data(as_text=True)
    stolen = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    before = row_counts()
    response = csrf_client.post(f"/s/{org.short.qr_token}", data={"csrf_token": stolen})
    assert response.status_code == 400 and row_counts() == before


def test_the_json_volumes_api_takes_no_form(csrf_client, tree):
    """Exempt from CSRF because a cross-site form cannot send application/json: prove it."""
    before = row_counts()
    anonymous = csrf_client.post("/admin/api/volumes", data={"volumes": "x"})
    assert anonymous.status_code == 401
    login_as(csrf_client, tree.users["administrator"])
    as_form = csrf_client.post("/admin/api/volumes", data={"volumes": '[{"agency": "P"}]'})
    as_text = csrf_client.post("/admin/api/volumes", data='{"volumes": []}', content_type="text/plain")
    assert as_form.status_code == as_text.status_code == 415
    assert row_counts() == before
