"""One-time invitation codes of sampled dossiers.

A code is ``<nonce>.<sealed>`` like a receipt code (app.services.collect.receipts): the campaign and
sample ids sealed with AES-256-GCM under a key derived from the server secret, with its own context,
so a receipt code never opens as an invitation nor the reverse. The nonce is derived from the ids
(HMAC under another derived key) instead of drawn at random: the same sample always gets the same
code, so a lost letter can be printed again and a reminder carries the code of the invitation. Nobody
without the secret can make or alter a code, or read the dossier out of one. Only a keyed hash of the
code is stored (`campaign_sample.code_hash`), and a code opens only while that hash is there: purging
a campaign (which clears it) ends its codes. One-time: the answer's response keeps the sample's key in
the unique `response.dossier_key`, and the sample holds one response.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Campaign, CampaignSample

_CONTEXT = b"campaign-invite-v1"
_IDS = struct.Struct(">II")  # campaign id, sample id
NONCE_BYTES = 12
MAX_CODE = 80


class InvitationError(Exception):
    """A code that does not open an invitation; `reason` is 'invalid' or 'closed'."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _key(purpose: bytes) -> bytes:
    secret = current_app.config.get("RECEIPT_SECRET") or current_app.config["SECRET_KEY"]
    return hmac.new(str(secret).encode(), _CONTEXT + b"/" + purpose, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def code_hash(code: str) -> str:
    """The keyed hash stored to look a code up (hex, 64 characters)."""
    return hmac.new(_key(b"lookup"), code.encode(), hashlib.sha256).hexdigest()


def invitation_code(sample: CampaignSample) -> str:
    """The sample's code (always the same one), recording its hash on the sample; caller commits."""
    payload = _IDS.pack(sample.campaign_id, sample.id)
    nonce = hmac.new(_key(b"nonce"), payload, hashlib.sha256).digest()[:NONCE_BYTES]
    code = f"{_b64(nonce)}.{_b64(AESGCM(_key(b'seal')).encrypt(nonce, payload, _CONTEXT))}"
    sample.code_hash = code_hash(code)
    return code


def invitation_url(code: str) -> str:
    """The address a letter, e-mail or SMS gives: PUBLIC_BASE_URL/i/<code>."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "http://localhost:5000").rstrip("/")
    return f"{base}/i/{code}"


def _ids(code: str) -> tuple[int, int]:
    try:
        nonce_text, sealed_text = code.split(".")
        nonce = _unb64(nonce_text)
        if len(nonce) != NONCE_BYTES:
            raise ValueError("nonce")
        return _IDS.unpack(AESGCM(_key(b"seal")).decrypt(nonce, _unb64(sealed_text), _CONTEXT))
    except (ValueError, binascii.Error, InvalidTag, struct.error) as exc:
        raise InvitationError("invalid") from exc


def read_invitation_code(code: str) -> CampaignSample:
    """The sample a code invites, if the code is genuine, issued and its campaign still running;
    InvitationError otherwise ('invalid', or 'closed' for a closed or purged campaign)."""
    if not code or len(code) > MAX_CODE:
        raise InvitationError("invalid")
    campaign_id, sample_id = _ids(code)  # a forged or mistyped code costs no query
    sample = db.session.scalar(select(CampaignSample).where(CampaignSample.code_hash == code_hash(code)))
    if sample is None or (sample.campaign_id, sample.id) != (campaign_id, sample_id):
        raise InvitationError("invalid")
    if sample.campaign.status != "drawn":
        raise InvitationError("closed")
    return sample


def campaign_by_code(code: str) -> Campaign | None:
    """A campaign by its code (as commands and pages name it), or None."""
    return db.session.scalar(select(Campaign).where(Campaign.code == code))
