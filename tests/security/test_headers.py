"""Security headers: a CSP without inline scripts, frames refused except for the kiosk, HSTS in production."""

from __future__ import annotations

import re

import pytest

from app import create_app
from app.security import PRINT_HANDLER, content_security_policy
from tests.admin.conftest import login_as


def _directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


@pytest.mark.parametrize("path", ["/", "/healthz", "/auth/login", "/no-such-page", "/s/unknown-token"])
def test_every_page_gets_the_headers(client, path):
    response = client.get(path)
    csp = _directives(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # development runs on http://


def test_the_survey_page_loads_only_our_own_files_and_no_inline_script(client, org):
    page = client.get(f"/s/{org.short.qr_token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline <script> would be blocked by the CSP"
    assert not re.search(r"\son[a-z]+=", html) and " style=" not in html and "<style" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "only our own origin"


def test_kiosk_may_be_framed_by_its_own_origin_only(client, org):
    for path in (f"/k/{org.short.qr_token}", "/k/sw.js"):
        response = client.get(path)
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert _directives(response)["frame-ancestors"] == "'self'"
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_the_qr_page_is_not_the_kiosk(client, org):
    assert client.get(f"/s/{org.short.qr_token}").headers["X-Frame-Options"] == "DENY"


def test_posters_get_only_their_print_button_and_inline_style(client, tree):
    login_as(client, tree.users["administrator"])
    page = client.get(f"/admin/counters/{tree.counter_in.id}/poster")
    assert page.status_code == 200
    csp = _directives(page)
    assert f'onclick="{PRINT_HANDLER}"' in page.get_data(as_text=True)
    assert csp["script-src"].startswith("'self' 'unsafe-hashes' 'sha256-")
    assert "'unsafe-inline'" not in csp["script-src"] and csp["style-src"] == "'self' 'unsafe-inline'"
    # Other admin pages keep the strict policy.
    assert client.get("/admin/").headers["Content-Security-Policy"] == content_security_policy()


def test_print_handler_hash_is_the_sha256_of_its_source():
    # Checked against the value a browser computes (printf 'window.print()' | sha256sum | base64).
    expected = "'sha256-MguIPR6qNR8D3B+eAlK+bIRTZe8t3wkOY4B/56Me9FU='"
    assert expected in content_security_policy(poster=True)
    assert expected not in content_security_policy()


def test_production_adds_hsts_and_secure_cookies(monkeypatch, tmp_path, database_url, _schema):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 40)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": database_url,
                      "RATELIMIT_ENABLED": False})
    client = app.test_client()
    response = client.get("/auth/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forwarded_for_is_ignored_without_a_proxy(client):
    from flask import request

    seen = []
    client.application.add_url_rule("/whoami", "whoami", lambda: seen.append(request.remote_addr) or "")
    client.get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert seen == ["127.0.0.1"]


def test_forwarded_for_is_read_from_one_trusted_proxy(monkeypatch, tmp_path, database_url, _schema):
    from flask import request

    monkeypatch.setenv("FORWARDED_HOPS", "1")
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": database_url})
    seen = []
    app.add_url_rule("/whoami", "whoami", lambda: seen.append((request.remote_addr, request.scheme)) or "")
    # A client's forged first entry is not believed: nginx appends the real address last.
    app.test_client().get("/whoami", headers={"X-Forwarded-For": "10.9.9.9, 203.0.113.9",
                                              "X-Forwarded-Proto": "https"})
    assert seen == [("203.0.113.9", "https")]


def test_a_bad_forwarded_hops_is_a_clear_error(monkeypatch, tmp_path):
    from app.config import ConfigError

    monkeypatch.setenv("FORWARDED_HOPS", "nginx")
    with pytest.raises(ConfigError, match="FORWARDED_HOPS"):
        create_app({"TESTING": True, "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path)})


def test_reports_allow_inline_styles_for_charts_but_never_inline_script(client, tree):
    login_as(client, tree.users["leader"])
    page = client.get("/reports/")
    assert page.status_code == 200
    csp = _directives(page)
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self' 'unsafe-inline'"


def test_a_negative_forwarded_hops_is_a_clear_error(tmp_path):
    from app.config import ConfigError

    with pytest.raises(ConfigError, match="FORWARDED_HOPS"):
        create_app({"TESTING": True, "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path), "FORWARDED_HOPS": -1})
