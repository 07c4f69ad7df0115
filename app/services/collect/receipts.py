"""Receipt codes: an encrypted, expiring code for one dossier at one counter, printed as a QR.

A code is ``<nonce>.<sealed>``, both base64url without padding: the counter id, the expiry
(Unix seconds) and the dossier id sealed with AES-256-GCM under a key derived from the server
secret, with a random 96-bit nonce. Nobody without the secret can read the dossier number or
the counter out of a code (issue 21: the receipt link and the access logs revealed them), nor
forge or alter one (the GCM tag), and two codes for one dossier look unrelated. The code is
one-time because the response it leads to carries the dossier's key, which the database keeps
unique (`response.dossier_key`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Response, ServicePoint
from app.models.base import utcnow
from app.services.collect.counter import Counter, counter_by_id

DOSSIER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,63}")
NONCE_BYTES = 12
# What the GCM tag also authenticates: a code of another purpose or version never opens.
_CONTEXT = b"receipt-code-v2"
# counter id and expiry, then the dossier id's UTF-8 bytes.
_HEADER = struct.Struct(">II")
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


def _cipher() -> AESGCM:
    secret = current_app.config.get("RECEIPT_SECRET") or current_app.config["SECRET_KEY"]
    return AESGCM(hmac.new(str(secret).encode(), _CONTEXT, hashlib.sha256).digest())


def issue_receipt_code(counter: ServicePoint | Counter, dossier_id: str, ttl: timedelta | None = None,
                       now: datetime | None = None) -> str:
    """Seal a one-time code for rating `dossier_id` at `counter`; ValueError on a bad dossier id."""
    if not DOSSIER_ID.fullmatch(dossier_id or ""):
        raise ValueError("dossier id: 1-64 letters, digits or _ . / - starting with a letter or digit")
    if ttl is None:
        ttl = timedelta(days=current_app.config.get("RECEIPT_CODE_TTL_DAYS", DEFAULT_TTL_DAYS))
    expiry = int(((now or utcnow()) + ttl).timestamp())
    payload = _HEADER.pack(counter.id, max(0, min(expiry, 2**32 - 1))) + dossier_id.encode()
    nonce = os.urandom(NONCE_BYTES)
    return f"{_b64(nonce)}.{_b64(_cipher().encrypt(nonce, payload, _CONTEXT))}"


def _parse(code: str) -> tuple[int, int, str]:
    try:
        nonce_text, sealed_text = code.split(".")
        nonce, sealed = _unb64(nonce_text), _unb64(sealed_text)
        if len(nonce) != NONCE_BYTES:
            raise ValueError("nonce")
        payload = _cipher().decrypt(nonce, sealed, _CONTEXT)
        counter_id, expiry = _HEADER.unpack_from(payload)
        return counter_id, expiry, payload[_HEADER.size:].decode()
    except (ValueError, binascii.Error, InvalidTag, struct.error, UnicodeDecodeError) as exc:
        raise ReceiptError("invalid") from exc


def read_receipt_code(code: str, now: datetime | None = None) -> Receipt:
    """Open a code, check its expiry and find its counter; ReceiptError otherwise."""
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
