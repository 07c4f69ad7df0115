"""Production mode for real: gunicorn with deploy/gunicorn.conf.py, PostgreSQL and Redis when they answer.

The app runs in a subprocess, exactly as the systemd unit starts it, so these
tests see what an operator sees: the exit code, the message, the headers.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
REDIS_URL = "redis://127.0.0.1:6379/0"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def production_env(database_url, _schema, tmp_path_factory) -> dict[str, str]:
    """APP_ENV=production on the suite's database, rate limits in Redis (skip only if it is down)."""
    if not _answers("127.0.0.1", 6379):
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    if database_url.startswith("postgresql") and not _answers("127.0.0.1", 5432):
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "SECRET_KEY"))}
    env.update({
        "APP_ENV": "production",
        "DATABASE_URL": database_url,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("production")),
        "FORWARDED_HOPS": "1",
        "GUNICORN_BIND": f"127.0.0.1:{_free_port()}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
        "GUNICORN_ACCESSLOG": "/dev/null",
    })
    return env


def _gunicorn(env: dict[str, str], output=subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen([str(GUNICORN), "--config", "deploy/gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                            env=env, stdout=output, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def test_refuses_to_start_without_secret_key(production_env):
    process = _gunicorn(production_env)
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode != 0
    assert "SECRET_KEY must be set in production (APP_ENV=production)" in output
    assert "Traceback" not in output  # a clear message, not a stack trace


def test_flask_command_refuses_too(production_env):
    command = [str(Path(sys.executable).parent / "flask"), "--app", "wsgi.py", "db", "current"]
    done = subprocess.run(command, cwd=ROOT, env=production_env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stdout + done.stderr


class _Site:
    """A tiny cookie-keeping HTTP client for one gunicorn."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []

    def request(self, method: str, path: str, body: str | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        # As nginx passes an https request on; over https Flask-WTF also wants a same-site Referer,
        # which browsers send under our Referrer-Policy: same-origin.
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.50",
                   "Referer": f"https://127.0.0.1:{self.port}/auth/login"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.set_cookies.append(header)
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return response, text


@pytest.fixture(scope="module")
def running(production_env, tmp_path_factory):
    """gunicorn in production mode with a SECRET_KEY, until the test ends."""
    env = dict(production_env, SECRET_KEY=secrets.token_hex(32))
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with open(log_path, "w") as log:
        process = _gunicorn(env, log)
    port = int(env["GUNICORN_BIND"].rsplit(":", 1)[1])
    deadline = time.monotonic() + 60
    while not _answers("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"gunicorn did not start: {log_path.read_text()}")
        time.sleep(0.1)
    yield _Site(port)
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_serves_healthz_with_production_headers(running):
    response, body = running.request("GET", "/healthz")
    assert response.status == 200 and '"status":"ok"' in body.replace(" ", "")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


def test_session_cookie_is_secure_httponly_lax(running):
    response, _ = running.request("GET", "/auth/login")
    assert response.status == 200
    session = [c for c in running.set_cookies if c.startswith("session=")]
    assert session, running.set_cookies
    flags = {part.strip().lower() for part in session[0].split(";")[1:]}
    assert {"secure", "httponly", "samesite=lax"} <= flags


def test_language_cookie_is_secure_in_production(running):
    running.request("GET", "/auth/login?lang=en")
    lang = [c for c in running.set_cookies if c.startswith("lang=")]
    assert lang and "secure" in lang[0].lower()


def test_failed_logins_are_counted_in_redis(running, database_url):
    import redis
    from sqlalchemy import create_engine, text

    _, page = running.request("GET", "/auth/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the login form carries a CSRF token"
    email = f"nobody-{secrets.token_hex(4)}@example.org"
    body = f"csrf_token={token.group(1)}&email={email}&password=wrong"
    response, _ = running.request("POST", "/auth/login", body)
    assert response.status == 200
    keys = redis.Redis.from_url(REDIS_URL).keys("*auth.login*")
    assert keys, "the per-address login limit lives in Redis, shared by every app server"
    # The count per account and address lives in the database (issue 21), shared the same way.
    engine = create_engine(database_url)
    with engine.connect() as connection:
        failures = connection.scalar(text("SELECT failures FROM login_throttle WHERE email = :email"),
                                     {"email": email})
    engine.dispose()
    assert failures == 1
