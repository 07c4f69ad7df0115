"""The app factory, configuration, health check and error pages."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import ConfigError, load_config


def test_blueprints_registered(app):
    assert {"public", "admin", "reports", "api"} <= set(app.blueprints)


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_production_uses_secure_cookies(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    config = load_config({"INSTANCE_PATH": str(tmp_path)})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SECRET_KEY"] == "s" * 32


def test_development_secret_key_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("APP_ENV", raising=False)
    first = load_config({"INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    second = load_config({"INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/x")
    monkeypatch.setenv("PORT", "8123")
    config = load_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/x"
    assert config["PORT"] == 8123


def test_default_database_is_sqlite_under_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = load_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k"})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'sipas.db'}"


def test_bad_port_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PORT", "abc")
    with pytest.raises(ConfigError, match="PORT must be an integer"):
        load_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k"})


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_a_broken_database(tmp_path):
    broken = create_app({
        "TESTING": True, "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing-dir/none.db",
    })
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_404_is_vietnamese_by_default(client):
    response = client.get("/no-such-page")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Không tìm thấy trang" in body
    assert '<meta charset="utf-8">' in body and 'lang="vi"' in body
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"


def test_404_in_english_is_remembered(client):
    response = client.get("/no-such-page?lang=en")
    assert "Page not found" in response.get_data(as_text=True)
    assert "lang=en" in response.headers["Set-Cookie"]
    again = client.get("/still-missing")
    assert "Page not found" in again.get_data(as_text=True)


@pytest.mark.parametrize("code, vi, en", [
    (400, "Yêu cầu không hợp lệ", "Bad request"),
    (403, "Không có quyền truy cập", "Access denied"),
    (500, "Đã xảy ra lỗi", "Something went wrong"),
])
def test_error_pages_in_both_languages(app, code, vi, en):
    from flask import abort

    app.add_url_rule(f"/boom/{code}", f"boom{code}", lambda: abort(code))
    client = app.test_client()
    assert vi in client.get(f"/boom/{code}").get_data(as_text=True)
    assert en in client.get(f"/boom/{code}?lang=en").get_data(as_text=True)


def test_unexpected_exception_shows_500_page_without_traceback(app):
    def explode():
        raise RuntimeError("secret internals")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.add_url_rule("/explode", "explode", explode)
    response = app.test_client().get("/explode")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Đã xảy ra lỗi" in body and "secret internals" not in body and "Traceback" not in body


def test_api_errors_are_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["status"] == 404


def test_operational_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SURVEY_RATE_LIMIT", "3 per minute")
    monkeypatch.setenv("PUBLIC_SCOREBOARD", "yes")
    monkeypatch.setenv("RECEIPT_CODE_TTL_DAYS", "7")
    config = load_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k"})
    assert config["SURVEY_RATE_LIMIT"] == "3 per minute"
    assert config["PUBLIC_SCOREBOARD"] is True and config["RECEIPT_CODE_TTL_DAYS"] == 7


def test_a_405_names_the_allowed_methods(client):
    for path in ("/api/v1/indices", "/healthz"):
        response = client.delete(path)
        assert response.status_code == 405
        assert "GET" in response.headers["Allow"] and response.is_json
    page = client.delete("/")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]
    assert page.mimetype == "text/html"
