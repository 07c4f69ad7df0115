"""The outbox (issue 18) against a real SMTP server (aiosmtpd) and a real HTTP receiver on 127.0.0.1:
a server that is down delays a message, never drops it; a retry never sends it twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from datetime import timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.extensions import db
from app.models import Case, OutboxMessage
from app.models.base import utcnow
from app.services.cases import drain, queue_overdue, save_webhook
from tests.public.conftest import SHORT_ANSWERS, post_form

HAPPY = {**SHORT_ANSWERS, "q-E5_1": "4", "q-OVERALL": "5"}
SECRET = "a-shared-secret-of-the-province"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: keeps every message received."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp(app):
    port = _free_port()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TIMEOUT=3, MAIL_FROM="sipas@tinh.gov.vn")
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    started = []
    box.start = lambda: (controller.start(), started.append(True))
    yield box
    if started:
        controller.stop()
    controller.loop.close()  # its self-pipe would otherwise be found unclosed in a later test


class Receiver(BaseHTTPRequestHandler):
    """The province's one-stop system: answers with the next planned status, keeps what it got."""

    got: list = []
    plan: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.got.append((dict(self.headers), body))
        status = Receiver.plan.pop(0) if Receiver.plan else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.got, Receiver.plan = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _messages():
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_smtp_down_delays_then_sends_once_with_a_stable_message_id(client, org, smtp):
    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_wanted": "1"})
    case = db.session.scalar(select(Case))
    # The server is not started yet: the message stays pending, with a later attempt.
    result = drain()
    assert (result.sent, result.delayed) == (0, 1)
    [message] = _messages()
    assert message.status == "pending" and message.attempts == 1 and message.last_error
    assert message.next_attempt_at > utcnow() + timedelta(seconds=50)
    assert drain().delayed == 0  # not due yet: nothing tried
    smtp.start()
    result = drain(now=utcnow() + timedelta(minutes=2))
    assert result.sent == 1
    [message] = _messages()
    assert message.status == "sent" and message.attempts == 2 and message.locked_until is None
    [(to, mail)] = smtp.messages
    assert to == ["handler@example.org"] and case.code in mail["Subject"]
    assert mail["Message-ID"] == f"<{message.key}@tinh.gov.vn>"
    # Running again (or much later) never sends a sent message again.
    assert drain(now=utcnow() + timedelta(days=1)).sent == 0
    assert len(smtp.messages) == 1


def test_two_workers_at_once_send_each_message_once(app, client, org, smtp):
    smtp.start()
    for _ in range(4):
        post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_wanted": "1"})
    assert len(_messages()) == 4
    results = []

    def worker():
        with app.app_context():
            results.append(drain())
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in results) == 4
    assert len(smtp.messages) == 4
    assert len({mail["Message-ID"] for _, mail in smtp.messages}) == 4
    assert {m.status for m in _messages()} == {"sent"}


def test_signed_webhook_retried_with_the_same_idempotency_key(app, client, org, receiver, smtp):
    smtp.start()
    save_webhook(org.agency.id, f"http://127.0.0.1:{receiver.server_port}/hook", SECRET, org.admin)
    db.session.commit()
    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_wanted": "1",
                                                   "answer_email": "citizen@example.vn"})
    case = db.session.scalar(select(Case))
    Receiver.plan = [503]
    result = drain()
    assert (result.sent, result.delayed) == (1, 1)  # the handler's e-mail went; the webhook waits
    hook = next(m for m in _messages() if m.kind == "webhook")
    assert hook.status == "pending" and hook.last_error == "HTTP 503"
    assert drain(now=utcnow() + timedelta(minutes=2)).sent == 1
    assert len(Receiver.got) == 2
    (first, _), (second, body) = Receiver.got
    assert first["Idempotency-Key"] == second["Idempotency-Key"] == hook.key
    expected = hmac.new(SECRET.encode(), second["X-Sipas-Timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert second["X-Sipas-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["event"] == "case.opened" and payload["case"] == case.code and payload["agency"] == "T01"
    assert "citizen@example.vn" not in body.decode()  # no personal data to the one-stop system
    # A refusal that cannot heal is marked failed, not retried for ever.
    Receiver.plan = [400]
    from app.services.cases.handling import answer_case

    answer_case(db.session.get(Case, case.id), "Đã xử lý xong.", org.handler)
    db.session.commit()
    result = drain()
    assert result.failed == 1 and result.sent == 1  # the webhook refused; the citizen's e-mail sent
    assert smtp.messages[-1][0] == ["citizen@example.vn"]
    assert "Đã xử lý xong." in smtp.messages[-1][1].get_content()


def test_overdue_cases_are_told_once(client, org, smtp):
    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_wanted": "1"})
    later = utcnow() + timedelta(days=30)
    assert queue_overdue(later) == 1
    assert queue_overdue(later) == 0
    subjects = [m.subject for m in _messages()]
    assert len(subjects) == 2 and "quá hạn" in subjects[1]


def test_flask_outbox_run_once_sends_through_smtp(app, client, org, smtp):
    smtp.start()
    post_form(client, f"/s/{org.short.qr_token}", {**HAPPY, "answer_wanted": "1"})
    result = app.test_cli_runner().invoke(args=["outbox", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent=1" in result.output
    assert len(smtp.messages) == 1
    again = app.test_cli_runner().invoke(args=["outbox", "run", "--once"])
    assert again.exit_code == 0 and again.output == "" and len(smtp.messages) == 1


def test_a_rated_receipt_leads_to_its_case(client, org):
    from app.services.collect.receipts import issue_receipt_code

    url = "/r/" + issue_receipt_code(org.short, "HS-2026/0042")
    page = post_form(client, url, {**HAPPY, "answer_wanted": "1", "answer_email": "dan@example.vn"})
    assert page.status_code == 303
    case = db.session.scalar(select(Case))
    assert case.code in client.get(page.headers["Location"]).get_data(as_text=True)
    again = client.get(url)
    assert again.status_code == 409 and f"/c/{case.code}" in again.get_data(as_text=True)


def test_the_agency_webhook_form(client, org, login):
    login(org.admin)
    url = f"/admin/agencies/{org.agency.id}/webhook"
    assert client.get(url).status_code == 200
    bad = client.post(url, data={"url": "ftp://x", "secret": SECRET})
    assert bad.status_code == 422 and "https://" in bad.get_data(as_text=True)
    short = client.post(url, data={"url": "https://one-stop.example.vn/hook", "secret": "short"})
    assert short.status_code == 422
    saved = client.post(url, data={"url": "https://one-stop.example.vn/hook", "secret": SECRET})
    assert saved.status_code == 302
    from app.services.cases import agency_webhook

    assert agency_webhook(org.agency.id).secret == SECRET
    # A new address keeps the secret when none is typed; an empty address removes the webhook.
    client.post(url, data={"url": "https://one-stop.example.vn/v2", "secret": ""})
    hook = agency_webhook(org.agency.id)
    assert hook.url.endswith("/v2") and hook.secret == SECRET
    client.post(url, data={"url": "", "secret": ""})
    assert agency_webhook(org.agency.id) is None
    login(org.handler)
    assert client.get(url).status_code == 403
