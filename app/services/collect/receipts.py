"""Receipt codes: a signed, expiring code for one dossier at one counter, printed as a QR.

A code is ``<payload>.<signature>``, both base64url without padding. The payload
is ``counter_id:expiry:dossier`` (expiry in Unix seconds); the signature is the
first 128 bits of an HMAC-SHA256 over it, keyed from the server secret. The code
is one-time because the response it leads to carries the dossier's key, which
the database keeps unique (`response.dossier_key`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Response, ServicePoint
from app.models.base import utcnow
from app.services.collect.counter import Counter, counter_by_id

DOSSIER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,63}")
SIGNATURE_BYTES = 16
DEFAULT_TTL_DAYS = 30


class ReceiptError(Exception):
    """A receipt code that cannot be used; `reason` is 'invalid' or 'expired'."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Receipt:
    """A verified receipt code: which counter and dossier it is for, and until when."""

    counter: Counter
    dossier_id: str
    expires_at: datetime

    @property
    def dossier_key(self) -> str:
        """The unique key of the dossier: dossier ids are unique within an agency."""
        return f"{self.counter.agency_id}:{self.dossier_id}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: bytes) -> bytes:
    secret = current_app.config.get("RECEIPT_SECRET") or current_app.config["SECRET_KEY"]
    key = hmac.new(str(secret).encode(), b"receipt-code-v1", hashlib.sha256).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:SIGNATURE_BYTES]


def issue_receipt_code(counter: ServicePoint, dossier_id: str, ttl: timedelta | None = None,
                       now: datetime | None = None) -> str:
    """Sign a one-time code for rating `dossier_id` at `counter`; ValueError on a bad dossier id."""
    if not DOSSIER_ID.fullmatch(dossier_id or ""):
        raise ValueError("dossier id: 1-64 letters, digits or _ . / - starting with a letter or digit")
    if ttl is None:
        ttl = timedelta(days=current_app.config.get("RECEIPT_CODE_TTL_DAYS", DEFAULT_TTL_DAYS))
    expiry = int(((now or utcnow()) + ttl).timestamp())
    payload = f"{counter.id}:{expiry}:{dossier_id}".encode()
    return f"{_b64(payload)}.{_b64(_signature(payload))}"


def _parse(code: str) -> tuple[int, int, str]:
    try:
        payload_text, signature_text = code.split(".")
        payload, signature = _unb64(payload_text), _unb64(signature_text)
    except (ValueError, binascii.Error) as exc:
        raise ReceiptError("invalid") from exc
    if not hmac.compare_digest(signature, _signature(payload)):
        raise ReceiptError("invalid")
    try:
        counter_id, expiry, dossier_id = payload.decode().split(":", 2)
        return int(counter_id), int(expiry), dossier_id
    except ValueError as exc:  # signed by us, so only an old or foreign format lands here
        raise ReceiptError("invalid") from exc


def read_receipt_code(code: str, now: datetime | None = None) -> Receipt:
    """Check a code's signature and expiry and find its counter; ReceiptError otherwise."""
    if len(code) > 300:
        raise ReceiptError("invalid")
    counter_id, expiry, dossier_id = _parse(code)
    expires_at = datetime.fromtimestamp(expiry, UTC)
    if expires_at <= (now or utcnow()):
        raise ReceiptError("expired")
    counter = counter_by_id(counter_id, with_services=True)
    if counter is None:
        raise ReceiptError("invalid")
    return Receipt(counter, dossier_id, expires_at)


def dossier_rated(receipt: Receipt) -> bool:
    """Whether a response for this receipt's dossier is already stored."""
    return db.session.scalar(
        select(Response.id).where(Response.dossier_key == receipt.dossier_key)
    ) is not None
