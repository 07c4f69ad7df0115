"""The transactional outbox: notifications written in the transaction that changes the case, sent by a worker.

Delivery is AT LEAST ONCE, made idempotent for the receiver. A message row is written with the case change
(both commit or neither: no change goes untold, no notice tells of a change that was rolled back). The
worker takes a message by setting a lease (`locked_until`) in its own short transaction, sends it, then
marks it sent. A failure to reach the server (SMTP down, connection refused, a timeout, a 4xx reply, a
webhook's 5xx) leaves it pending with `next_attempt_at` pushed back (1 min, 2, 4 … at most 1 h): delayed,
never dropped. A refusal that cannot heal (SMTP 5xx for every recipient, a webhook's 4xx) marks it failed,
visible in the inbox's outbox list. Exactly once is not possible over SMTP or HTTP (a worker can die after
the server accepted the message and before the row says so), so every attempt of a message carries the
same key: the e-mail's Message-ID and the webhook's Idempotency-Key header; receivers drop a key they
have seen. Workers never send the same row at the same time (the lease), and a sent row is never taken again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from app.extensions import db
from app.models import Agency, AgencyWebhook, Case, CaseContact, OutboxMessage, User
from app.models.auth import HANDLER, MANAGER
from app.models.base import utcnow

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)
OPEN_STATUSES = ("new", "assigned", "in_progress", "reopened")


class Transient(Exception):
    """The message could not be sent now; try again later."""


class Permanent(Exception):
    """The message was refused for good."""


def _base_url() -> str:
    return current_app.config.get("PUBLIC_BASE_URL") or "http://localhost:5000"


def _add(kind: str, key: str, recipient: str, case: Case | None, *, subject: str = "", body: str = "",
         payload: dict | None = None, to_citizen: bool = False) -> OutboxMessage:
    message = OutboxMessage(key=key, kind=kind, recipient=recipient, case_id=case.id if case else None,
                            subject=subject[:300], body=body, payload=payload or {}, to_citizen=to_citizen,
                            status="pending", attempts=0, next_attempt_at=utcnow())
    db.session.add(message)
    return message


def _ancestry(agency_id: int) -> list[int]:
    """The agency and its parents, nearest first."""
    parents = dict(db.session.execute(select(Agency.id, Agency.parent_id)).all())
    chain, current = [], agency_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


def handlers_of(agency_id: int) -> list[User]:
    """Who is told of the agency's cases: its handlers, else the nearest agency up the tree with handlers,
    else the nearest managers."""
    chain = _ancestry(agency_id)
    users = db.session.scalars(select(User).where(User.active.is_(True), User.agency_id.in_(chain),
                                                  User.role.in_((HANDLER, MANAGER)))).all()
    for role in (HANDLER, MANAGER):
        for agency in chain:
            found = [u for u in users if u.agency_id == agency and u.role == role]
            if found:
                return sorted(found, key=lambda u: u.id)
    return []


def _webhook_for(agency_id: int) -> AgencyWebhook | None:
    """The webhook of the agency or the nearest agency above it that has one (the province's)."""
    chain = _ancestry(agency_id)
    hooks = {h.agency_id: h for h in db.session.scalars(
        select(AgencyWebhook).where(AgencyWebhook.agency_id.in_(chain)))}
    return next((hooks[a] for a in chain if a in hooks), None)


def _case_payload(case: Case, event: str) -> dict:
    """What the province's one-stop system learns of a case: no personal data."""
    payload = {
        "event": event,
        "case": case.code,
        "agency": case.agency.code if case.agency else None,
        "counter": case.service_point.code if case.service_point else None,
        "source": case.source,
        "status": case.status,
        "opened_at": case.opened_at.isoformat(),
        "due_at": case.due_at.isoformat(),
        "url": f"{_base_url()}/c/{case.code}",
    }
    if case.answer and event == "case.answered":
        payload["answer"] = case.answer
    return payload


def _stamp(case: Case, event: str) -> str:
    # One key per case event (a reopened case's second answer is another event).
    return f"{event}.{case.code}.{int(case.updated_at.timestamp() * 1000) if case.updated_at else 0}"


def _tell_webhook(case: Case, event: str, stamp: str) -> None:
    hook = _webhook_for(case.agency_id)
    if hook is not None:
        payload = _case_payload(case, event) | {"webhook_agency_id": hook.agency_id}
        _add("webhook", f"{stamp}.webhook.{hook.agency_id}", hook.url, case, payload=payload)


def _tell_handlers(case: Case, subject: str, lines: list[str], stamp: str) -> None:
    link = f"{_base_url()}/admin/cases/{case.id}"
    for user in handlers_of(case.agency_id):
        body = "\n".join([*lines, "", link, ""])
        _add("email", f"{stamp}.user{user.id}", user.email, case, subject=subject, body=body)


def notify_opened(case: Case) -> None:
    """A new (or reopened) case: the agency's handlers by e-mail, the one-stop system by webhook."""
    db.session.flush()
    event = "case.reopened" if case.status == "reopened" else "case.opened"
    stamp = _stamp(case, event)
    with force_locale("vi"):
        subject = (_("Case %(code)s reopened by the citizen", code=case.code) if event == "case.reopened"
                   else _("New case %(code)s", code=case.code))
        lines = [subject, _("Due: %(due)s", due=_local(case.due_at))]
    _tell_handlers(case, subject, [*lines, case.summary or ""], stamp)
    _tell_webhook(case, event, stamp)


def notify_answered(case: Case) -> None:
    """An answer: the citizen by e-mail when they left an address, the one-stop system by webhook."""
    db.session.flush()
    stamp = _stamp(case, "case.answered")
    contact = db.session.get(CaseContact, case.id)
    if contact is not None and contact.email:
        link = f"{_base_url()}/c/{case.code}"
        parts = []
        for lang in ("vi", "en"):
            with force_locale(lang):
                parts.append("\n".join([
                    _("Your case %(code)s has an answer from %(agency)s:", code=case.code,
                      agency=case.agency.name(lang)),
                    "", case.answer or "", "",
                    _("Read it, rate it or reopen the case here: %(link)s", link=link), ""]))
        with force_locale("vi"):
            subject = _("Answer to your case %(code)s", code=case.code)
        _add("email", f"{stamp}.citizen", contact.email, case, subject=subject,
             body="\n".join(parts), to_citizen=True)
    _tell_webhook(case, "case.answered", stamp)


def _local(moment: datetime) -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(current_app.config.get("TIMEZONE", "UTC"))).strftime("%Y-%m-%d %H:%M")


def queue_overdue(now: datetime | None = None) -> int:
    """Tell the handlers (once per case) of every open case past its due date; commits. Returns how many."""
    now = now or utcnow()
    cases = db.session.scalars(select(Case).where(Case.status.in_(OPEN_STATUSES), Case.due_at < now,
                                                  Case.overdue_notified_at.is_(None))).all()
    for case in cases:
        case.overdue_notified_at = now
        stamp = f"case.overdue.{case.code}.{int(case.due_at.timestamp())}"
        with force_locale("vi"):
            subject = _("Case %(code)s is overdue", code=case.code)
            lines = [subject, _("Due: %(due)s", due=_local(case.due_at))]
        _tell_handlers(case, subject, lines, stamp)
        _tell_webhook(case, "case.overdue", stamp)
    db.session.commit()
    return len(cases)


# ---------------------------------------------------------------- sending


def _send_email(message: OutboxMessage) -> None:
    config = current_app.config
    host = config.get("SMTP_HOST") or "127.0.0.1"
    sender = config.get("MAIL_FROM") or "sipas@localhost"
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    domain = sender.rpartition("@")[2] or "localhost"
    email["Message-ID"] = f"<{message.key}@{domain}>"
    email.set_content(message.body)
    try:
        with smtplib.SMTP(host, int(config.get("SMTP_PORT") or 25), timeout=float(
                config.get("SMTP_TIMEOUT") or 10)) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
            smtp.send_message(email)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _text in exc.recipients.values()]
        if all(400 <= code < 500 for code in codes):
            raise Transient(f"recipient deferred: {codes}") from exc
        raise Permanent(f"recipient refused: {codes}") from exc
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            raise Permanent(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        raise Transient(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
    except (OSError, smtplib.SMTPException) as exc:  # refused, unreachable, timeout, dropped
        raise Transient(f"{type(exc).__name__}: {exc}") from exc


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook signature: HMAC-SHA256 of "<timestamp>.<body>" with the agency's secret, in hex."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _send_webhook(message: OutboxMessage) -> None:
    hook = db.session.get(AgencyWebhook, message.payload.get("webhook_agency_id"))
    if hook is None:
        raise Permanent("the agency's webhook was removed")
    payload = {k: v for k, v in message.payload.items() if k != "webhook_agency_id"}
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    if not hook.url.startswith(("https://", "http://")):
        raise Permanent("the webhook's address is not http(s)")
    request = urllib.request.Request(hook.url, data=body, method="POST", headers={  # noqa: S310 (checked)
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": message.key,
        "X-Sipas-Event": payload.get("event", ""),
        "X-Sipas-Timestamp": timestamp,
        "X-Sipas-Signature": "sha256=" + sign(hook.secret, timestamp, body),
    })
    try:
        timeout = float(current_app.config.get("WEBHOOK_TIMEOUT") or 10)
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310 (http(s) only, checked above)
            return
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code not in (408, 409, 425, 429):
            raise Permanent(f"HTTP {exc.code}") from exc
        raise Transient(f"HTTP {exc.code}") from exc
    except OSError as exc:  # refused, unreachable, timeout
        raise Transient(f"{type(exc).__name__}: {exc}") from exc


def _send_sms(message: OutboxMessage) -> None:
    # Survey invitations by SMS (issue 19): the gateway adapter lives with the invitations.
    from app.services.invitations.sms import send_sms

    send_sms(message)


SENDERS = {"email": _send_email, "webhook": _send_webhook, "sms": _send_sms}


def _tell_campaign(message: OutboxMessage) -> None:
    """An invitation's delivery or bounce marks its sampled dossier (issue 19), in this transaction."""
    if (message.payload or {}).get("campaign_sample_id"):
        from app.services.invitations.sending import record_delivery

        record_delivery(message)


@dataclass
class Drained:
    """What one pass of the worker did."""

    sent: int = 0
    delayed: int = 0
    failed: int = 0


def _claim(message_id: int, now: datetime) -> bool:
    """Take a pending message for this worker (a lease), in its own committed transaction."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending",
               or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now))
        .values(locked_until=now + LEASE)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def backoff(attempts: int) -> timedelta:
    """How long a message waits after its n-th failed attempt: 1 min, 2, 4, … at most an hour."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _send_one(message_id: int, result: Drained) -> None:
    message = db.session.get(OutboxMessage, message_id)
    db.session.refresh(message)
    try:
        SENDERS[message.kind](message)
    except Transient as exc:
        message.attempts += 1
        message.next_attempt_at = utcnow() + backoff(message.attempts)
        message.last_error = str(exc)[:500]
        result.delayed += 1
    except Permanent as exc:
        message.attempts += 1
        message.status = "failed"
        message.last_error = str(exc)[:500]
        result.failed += 1
    else:
        message.attempts += 1
        message.status = "sent"
        message.sent_at = utcnow()
        message.last_error = None
        result.sent += 1
    message.locked_until = None
    _tell_campaign(message)
    db.session.commit()


def drain(limit: int = 100, now: datetime | None = None) -> Drained:
    """Send the messages that are due, oldest first; each is taken under a lease so that two workers
    never send the same one."""
    now = now or utcnow()
    result = Drained()
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
               or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now))
        .order_by(OutboxMessage.id).limit(limit)).all()
    db.session.commit()
    for message_id in ids:
        if _claim(message_id, now):
            _send_one(message_id, result)
    return result


def run_worker(once: bool = False, interval: float = 10.0, echo=print) -> None:
    """The worker's loop: queue overdue notices, drain the outbox, sleep; `once` makes one pass."""
    while True:
        overdue = queue_overdue()
        result = drain()
        if overdue or result.sent or result.delayed or result.failed:
            echo(f"overdue={overdue} sent={result.sent} delayed={result.delayed} failed={result.failed}")
        if once:
            return
        db.session.remove()
        time.sleep(interval)


# ---------------------------------------------------------------- settings


def agency_webhook(agency_id: int) -> AgencyWebhook | None:
    """The agency's own webhook setting, or None."""
    return db.session.get(AgencyWebhook, agency_id)


def save_webhook(agency_id: int, url: str, secret: str, actor: User) -> AgencyWebhook | None:
    """Set (or, with an empty URL, remove) the agency's webhook; caller commits. The secret is kept
    when left empty on a change of URL."""
    from app.services.accounts.audit import record_event

    url = url.strip()
    hook = db.session.get(AgencyWebhook, agency_id)
    if not url:
        if hook is not None:
            db.session.delete(hook)
            record_event(actor, "agency.webhook_remove", str(agency_id))
        return None
    if not url.startswith(("https://", "http://")) or len(url) > 500:
        raise ValueError("url")
    secret = secret.strip()
    if hook is None and len(secret) < 16:
        raise ValueError("secret")
    if secret and len(secret) < 16:
        raise ValueError("secret")
    hook = hook or AgencyWebhook(agency_id=agency_id)
    hook.url = url
    if secret:
        hook.secret = secret[:128]
    db.session.add(hook)
    record_event(actor, "agency.webhook_set", str(agency_id), url=url, secret_changed=bool(secret))
    return hook
