"""Invitations and reminders through the outbox (issue 19, item 5): e-mail to a real SMTP server
(aiosmtpd) and SMS to a fake HTTP gateway, both on 127.0.0.1; delivery and bounces mark the samples;
reminders go after reminder_days to those who have not answered, never twice within reminder_days."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.models.base import utcnow
from app.services.cases import drain
from app.services.invitations import (
    invitation_code,
    letters_pdf,
    queue_invitations,
    queue_reminders,
    reminders_due,
)
from tests.services.cases.test_outbox import smtp  # noqa: F401 (the real SMTP server fixture)


class Gateway(BaseHTTPRequestHandler):
    """An SMS gateway: keeps what it got, answers with the planned status (202 by default)."""

    got: list = []
    plan: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Gateway.got.append((dict(self.headers), json.loads(body)))
        self.send_response(Gateway.plan.pop(0) if Gateway.plan else 202)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(app):
    Gateway.got, Gateway.plan = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config.update(SMS_GATEWAY_URL=f"http://127.0.0.1:{server.server_port}/send",
                      SMS_GATEWAY_TOKEN="gateway-token")
    yield Gateway
    server.shutdown()
    server.server_close()


def _messages():
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_email_invitations_are_delivered_and_a_550_bounces(drawn, smtp):  # noqa: F811
    smtp.start()
    counts = queue_invitations(drawn.campaign, "email")
    assert counts == {"email": 2}
    first, second = drawn.samples["T01-1"], drawn.samples["T02-1"]
    assert (first.outcome, first.channel) == ("invited", "email") and first.invited_at
    # The second address is refused for good by the server: 550.

    async def handle_rcpt(server, session, envelope, address, options):
        if address == "em@example.org":
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp.handle_RCPT = handle_rcpt
    result = drain()
    assert (result.sent, result.failed) == (1, 1)
    [(to, mail)] = smtp.messages
    assert to == ["an@example.org"] and "T01-001" in mail["Subject"]
    body = mail.get_body().get_content()
    assert "Nguyễn" not in body and "Ủy ban nhân dân xã Thử" in body and "Thu Commune" in body
    assert "http://localhost/i/" in body
    db.session.expire_all()
    assert first.outcome == "delivered" and first.delivered_at is not None
    assert second.outcome == "bounced" and second.bounced_at is not None
    # Invited once: queueing again sends nothing new. Letters are printed, never queued.
    assert queue_invitations(drawn.campaign, "email") == {"email": 0}
    with pytest.raises(ValueError):
        queue_invitations(drawn.campaign, "post")


def test_sms_goes_to_the_gateway_as_json_and_a_4xx_bounces(drawn, gateway):
    drawn.samples["T02-3"].dossier.contact.channel = "sms"
    drawn.samples["T02-3"].dossier.contact.address = "0900000003"
    db.session.commit()
    assert queue_invitations(drawn.campaign, "sms") == {"sms": 2}
    gateway.plan = [202, 400]
    result = drain()
    assert (result.sent, result.failed) == (1, 1)
    (headers, first), (_h, second) = gateway.got
    assert first["to"] == "0912345678" and second["to"] == "0900000003"
    assert headers["Authorization"] == "Bearer gateway-token" and headers["Idempotency-Key"]
    # Plain letters (no diacritics), the agency and dossier, and the invitation's address.
    assert first["text"].startswith("T01 xin y kien cua ong/ba ve ho so T01-002: http://localhost/i/")
    assert first["text"].isascii() and len(first["text"]) <= 160
    db.session.expire_all()
    assert drawn.samples["T01-2"].outcome == "delivered"
    assert drawn.samples["T02-3"].outcome == "bounced"


def test_a_gateway_error_is_retried_not_bounced(drawn, gateway):
    queue_invitations(drawn.campaign, "sms")
    gateway.plan = [503]
    assert drain().delayed == 1
    [message] = _messages()
    assert message.status == "pending" and "503" in message.last_error
    db.session.expire_all()
    assert drawn.samples["T01-2"].outcome == "invited"
    assert drain(now=utcnow() + timedelta(minutes=5)).sent == 1
    db.session.expire_all()
    assert drawn.samples["T01-2"].outcome == "delivered"


def test_reminders_only_to_non_respondents_after_n_days(drawn, gateway, smtp):  # noqa: F811
    smtp.start()
    start = utcnow()
    assert queue_invitations(drawn.campaign, now=start) == {"email": 2, "sms": 1}
    drain()
    s = drawn.samples
    s["T02-1"].outcome, s["T02-1"].refused_at = "refused", start  # declined
    db.session.commit()
    # Six days later: nobody is due (reminder_days is 7).
    assert reminders_due(drawn.campaign, now=start + timedelta(days=6)) == []
    assert queue_reminders(drawn.campaign, now=start + timedelta(days=6)) == {"email": 0, "sms": 0}
    day8 = start + timedelta(days=8)
    assert {x.id for x in reminders_due(drawn.campaign, now=day8)} == {s["T01-1"].id, s["T01-2"].id}
    assert queue_reminders(drawn.campaign, now=day8) == {"email": 1, "sms": 1}
    db.session.expire_all()
    assert (s["T01-1"].reminders, s["T01-1"].last_reminded_at) == (1, day8)
    # Never twice within reminder_days; again after them.
    assert queue_reminders(drawn.campaign, now=day8 + timedelta(days=3)) == {"email": 0, "sms": 0}
    assert queue_reminders(drawn.campaign, now=day8 + timedelta(days=7)) == {"email": 1, "sms": 1}
    result = drain(now=day8 + timedelta(days=7))
    assert result.sent == 4
    reminders = [m for _to, m in smtp.messages if m["Subject"].startswith("Nhắc lại")]
    assert len(reminders) == 2 and all("T01-001" in m["Subject"] for m in reminders)
    db.session.expire_all()
    assert s["T01-1"].reminders == 2 and s["T02-1"].reminders == 0


def test_letters_one_page_per_post_dossier_with_address_and_url(drawn, tmp_path):
    pdf, pages = letters_pdf(drawn.campaign)
    assert pages == 3  # T01-3, T02-2, T02-3: the post contacts
    path = tmp_path / "letters.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert info.split("Pages:")[1].split()[0] == "3"
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages_text = text.split("\f")
    assert "12 Lê Lợi, phường Bến Thành, Quận 1" in pages_text[0] and "Lê Văn Cường" in pages_text[0]
    assert "5 Trần Hưng Đạo, xã Thử" in pages_text[1] and "7 Nguyễn Huệ, xã Thử" in pages_text[2]
    # The address written out: the site, then the code on its own line, as the QR holds it.
    codes = [invitation_code(drawn.samples[key]) for key in ("T01-3", "T02-2", "T02-3")]
    assert all("localhost/i/" in page and code in page for page, code in zip(pages_text, codes, strict=False))
    assert "Khảo sát hài lòng 2026" in pages_text[0] and "chosen at random" in " ".join(pages_text[0].split())
    db.session.expire_all()
    post = drawn.samples["T01-3"]
    assert (post.outcome, post.channel) == ("invited", "post") and post.invited_at
    # Printed again: the same code (the letter can be reprinted), invited_at unchanged.
    first_hash = post.code_hash
    letters_pdf(drawn.campaign)
    db.session.expire_all()
    assert post.code_hash == first_hash


def test_a_purge_forgets_the_messages_addresses_and_ends_the_codes(app, drawn, gateway):
    from app.services.invitations import InvitationError, forget_campaign_messages, read_invitation_code
    from tests.services.cases.test_outbox import _free_port

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_free_port(), SMTP_TIMEOUT=3)  # nobody listens
    queue_invitations(drawn.campaign)
    code = invitation_code(drawn.samples["T01-1"])
    db.session.commit()
    gateway.plan = [202]
    drain()  # the SMS goes; the e-mails wait (no SMTP server): pending
    assert forget_campaign_messages(drawn.campaign) == 3
    db.session.commit()
    messages = _messages()
    assert all(m.recipient == "" and m.body == "" for m in messages)
    assert sorted(m.status for m in messages) == ["failed", "failed", "sent"]
    with pytest.raises(InvitationError):
        read_invitation_code(code)


def test_the_letters_qr_draws_the_codes_modules(app, tmp_path):
    """The QR in runs, laid out by WeasyPrint and rasterised by pdftoppm, has every module of the code
    qrcode computes for the address (dark where dark, light where light)."""
    import qrcode
    from PIL import Image

    from app.services.invitations.letters import qr_runs_svg
    from app.services.reports.pdf import render_pdf

    url = "https://khaosat.example.gov.vn/i/NKTkm48-ZCU3Ixhl.VQPu_hXIvsMVR_NqH_SQJzh3gqVFYaBB"
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()
    svg = qr_runs_svg(url).replace("<svg ", '<svg style="display:block;width:100mm;height:100mm" ', 1)
    pdf = tmp_path / "qr.pdf"
    page = "<style>@page{size:100mm 100mm;margin:0}</style>"
    pdf.write_bytes(render_pdf(f'<html><body style="margin:0">{page}{svg}</body></html>'))
    subprocess.run(["pdftoppm", "-r", "300", "-png", "-singlefile", str(pdf), str(tmp_path / "qr")],
                   check=True)
    image = Image.open(tmp_path / "qr.png").convert("L")
    side = image.size[0] / len(matrix)
    drawn = [[image.getpixel((int((x + .5) * side), int((y + .5) * side))) < 128 for x in range(len(matrix))]
             for y in range(len(matrix))]
    assert drawn == [list(row) for row in matrix]
