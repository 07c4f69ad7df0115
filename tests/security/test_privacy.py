"""What a receipt code, an access log, the audit log and a client hash may reveal (issue 21, finding 9)."""

from __future__ import annotations

import base64
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import AuditEvent, ClientHashSalt, LoginThrottle, Response
from app.models.base import utcnow
from app.services.accounts.audit import record_event
from app.services.collect.abuse import client_hash
from app.services.collect.receipts import ReceiptError, issue_receipt_code, read_receipt_code
from tests.public.conftest import post_form

ROOT = Path(__file__).resolve().parents[2]


def _decoded(code: str) -> bytes:
    return b"".join(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in code.split("."))


# --- receipt codes -------------------------------------------------------------------------------

def test_a_receipt_code_reveals_neither_the_dossier_nor_the_counter(app, org):
    dossier = "HS-2025/000123"
    codes = {issue_receipt_code(org.short, dossier) for _ in range(20)}
    assert len(codes) == 20  # a random nonce: two codes for one dossier cannot be linked
    for code in codes:
        raw = _decoded(code)
        assert b"HS-2025" not in raw and b"000123" not in raw and dossier not in code
        # The old plain payload was "counter:expiry:dossier" ("2:" alone turns up in random bytes).
        assert re.search(rb"%d:\d{10}" % org.short.id, raw) is None
        receipt = read_receipt_code(code)
        assert (receipt.counter.id, receipt.dossier_id) == (org.short.id, dossier)
    # Every changed character is refused, not misread.
    code = codes.pop()
    for position in range(0, len(code), 7):
        if code[position] == ".":
            continue
        changed = code[:position] + ("A" if code[position] != "A" else "B") + code[position + 1:]
        with pytest.raises(ReceiptError):
            read_receipt_code(changed)


def test_the_receipt_page_still_rates_the_dossier_once(client, org):
    url = "/r/" + issue_receipt_code(org.short, "HS-OPAQUE-1")
    assert post_form(client, url).status_code == 303
    row = db.session.scalar(select(Response))
    assert row.dossier_key == f"{org.agency.id}:HS-OPAQUE-1" and row.verified is True
    assert client.get(url).status_code == 409


# --- access logs ---------------------------------------------------------------------------------

def _make_run_gunicorn_arguments() -> list[str]:
    """The gunicorn options of the Makefile's `make run` line (what the test runs is what ships)."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if "$(BIN)/gunicorn" in line)
    words, options = shlex.split(line.split("$(BIN)/gunicorn", 1)[1]), []
    while words:
        word = words.pop(0)
        if word in ("--bind", "--workers"):  # the test's own port, and one worker is enough
            words.pop(0)
        elif word != "wsgi:app":
            options.append(word)
    assert "--logger-class" in options, options
    return options


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict | None = None) -> int:
    try:
        request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (our own http://127.0.0.1)
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("source", ["Makefile", "deploy/gunicorn.conf.py"])
def test_gunicorn_access_log_holds_no_receipt_or_case_code(tmp_path, source):
    database = tmp_path / "log.db"
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "log-test-secret",
           "INSTANCE_DIR": str(tmp_path), "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"}
    app = create_app({"SECRET_KEY": "log-test-secret", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                      "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    if source == "Makefile":
        options = [*_make_run_gunicorn_arguments(), "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    else:
        options = ["--config", str(ROOT / "deploy/gunicorn.conf.py")]
    log = tmp_path / "access.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", *options, "wsgi:app"], cwd=ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if _get(base + "/healthz") == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            code, nonce = "Q0FTRS1TRUNSRVQtQ09ERQ.c2VjcmV0LXJlY2VpcHQ", "case-nonce-4f3e2d1c0b"
            assert _get(f"{base}/r/{code}?utm=x") == 404
            assert _get(f"{base}/thanks?n={nonce}", {"Referer": f"{base}/r/{code}"}) in (200, 302)
            assert _get(f"{base}/r/{code}/extra") == 404
        finally:
            server.terminate()
            server.wait(timeout=20)
    text = log.read_text()
    assert "/r/- " in text and "/thanks " in text, text
    assert code not in text and nonce not in text and "Q0FTRS" not in text and "utm=" not in text, text


def test_nginx_log_format_keeps_no_path_code_query_or_referer():
    conf = (ROOT / "deploy/nginx-sipas.conf").read_text()
    fmt = re.search(r"log_format sipas_private (.*?);", conf, re.S).group(1)
    for leak in ("$request ", "$request_uri", "$args", "$query_string", "$http_referer", "$uri", "$is_args"):
        assert leak not in fmt, leak
    assert "$sipas_log_path" in fmt and re.search(r"map \$uri \$sipas_log_path \{\s*~\^/r/\s+/r/-;", conf)
    servers = conf.split("server {")[1:]
    assert len(servers) == 2 and all("access_log /var/log/nginx/sipas.access.log sipas_private;" in s
                                     for s in servers)


# --- failed-login e-mails expire -----------------------------------------------------------------

def test_audit_purge_deletes_old_failed_login_emails_only(app, runner):
    old, recent = utcnow() - timedelta(days=31), utcnow() - timedelta(days=29)
    for at, action, target in ((old, "user.login_failed", "typo@example.org"),
                               (recent, "user.login_failed", "recent@example.org"),
                               (old, "user.create", "kept@example.org")):
        record_event(None, action, target, anonymous=True).at = at
    db.session.add(LoginThrottle(email="x@example.org", client="c" * 64, failures=2,
                                 last_failure_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    result = runner.invoke(args=["audit", "purge"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 failed-login event(s) older than 30 days" in result.output
    assert "1 stale failed-login count(s)" in result.output
    targets = set(db.session.scalars(select(AuditEvent.target)))
    assert targets == {"recent@example.org", "kept@example.org"}
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 0
    app.config["AUDIT_FAILED_LOGIN_DAYS"] = 7
    assert "deleted 1 failed-login" in runner.invoke(args=["audit", "purge"]).output
    assert set(db.session.scalars(select(AuditEvent.target))) == {"kept@example.org"}


# --- client hashes: one salt a day, deleted two days later -------------------------------------------

def _noon(day: int) -> datetime:
    return datetime(2026, 12, day, 5, 0, tzinfo=UTC)  # 12:00 in Asia/Ho_Chi_Minh


def test_client_hashes_link_within_a_day_only_and_old_salts_are_gone(app, database_url, tmp_path):
    address = "203.0.113.50"
    first = client_hash(address, _noon(1))
    assert first == client_hash(address, _noon(1) + timedelta(hours=11, minutes=59))  # 23:59 local
    assert client_hash(address, _noon(1) + timedelta(hours=12)) != first              # 00:00 next day
    assert client_hash("203.0.113.51", _noon(1)) != first
    # Another process (a second worker) uses the same salt for the day.
    other = create_app({"TESTING": True, "SECRET_KEY": "another-secret",
                        "SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path)})
    with other.app_context():
        assert client_hash(address, _noon(1)) == first
        db.engine.dispose()
    # Two days on, day 1's salt is deleted: nobody can recompute day 1's hash of an address any more.
    client_hash(address, _noon(3))
    days = sorted(db.session.scalars(select(ClientHashSalt.day)))
    assert [d.day for d in days] == [2, 3]
    assert client_hash(address, _noon(1)) != first


def test_the_secret_key_alone_does_not_give_the_hash(app):
    import hashlib
    import hmac

    stored = client_hash("198.51.100.1")
    key = hmac.new(b"test-secret-key", b"client-hash-v1", hashlib.sha256).digest()
    assert stored != hmac.new(key, b"198.51.100.1", hashlib.sha256).hexdigest()
    assert db.session.scalar(select(func.count()).select_from(ClientHashSalt)) == 1


@pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(),
                    reason="nginx is not installed (apt-get install nginx-light)")
def test_nginx_writes_the_redacted_log(tmp_path):
    """The site's map and log_format in a real nginx (the TLS servers replaced by one plain server)."""
    conf = (ROOT / "deploy/nginx-sipas.conf").read_text()
    head = conf[:conf.index("upstream sipas_app")]
    port = _free_port()
    (tmp_path / "nginx.conf").write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path}; fastcgi_temp_path {tmp_path};
    uwsgi_temp_path {tmp_path}; scgi_temp_path {tmp_path};
    {head}
    server {{
        listen 127.0.0.1:{port};
        access_log {tmp_path}/access.log sipas_private;
        location / {{ return 404; }}
    }}
}}
""")
    nginx = ["/usr/sbin/nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    subprocess.run([*nginx, "-t"], check=True, capture_output=True)
    subprocess.run(nginx, check=True, capture_output=True)
    try:
        code = "Q0FTRS1TRUNSRVQtQ09ERQ.c2VjcmV0LXJlY2VpcHQ"
        for _ in range(50):
            try:
                _get(f"http://127.0.0.1:{port}/r/{code}?a=1", {"Referer": f"https://x/r/{code}"})
                break
            except OSError:
                time.sleep(0.1)
        _get(f"http://127.0.0.1:{port}/thanks?n=case-nonce-4f3e2d1c0b")
    finally:
        subprocess.run([*nginx, "-s", "quit"], capture_output=True)
    text = (tmp_path / "access.log").read_text()
    assert '"GET /r/- HTTP/1.1" 404' in text and '"GET /thanks HTTP/1.1" 404' in text, text
    assert code not in text and "case-nonce" not in text and "a=1" not in text, text
