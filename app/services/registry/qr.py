"""QR codes of counters: images, and rotating or revoking the token they carry."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import qrcode
from qrcode.image.pure import PyPNGImage
from qrcode.image.svg import SvgPathImage

from app.models import ServicePoint, User
from app.models.base import utcnow
from app.models.org import new_qr_token
from app.services.accounts.audit import record_event


def _code(url: str) -> qrcode.QRCode:
    # Level M survives a scratched or sun-bleached poster; border 4 is the standard quiet zone.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_svg(url: str) -> bytes:
    """An SVG image of the QR code for a URL (scales to any print size)."""
    buffer = io.BytesIO()
    _code(url).make_image(image_factory=SvgPathImage).save(buffer)
    return buffer.getvalue()


def qr_png(url: str) -> bytes:
    """A PNG image of the QR code for a URL (pure Python: pypng, no Pillow)."""
    buffer = io.BytesIO()
    _code(url).make_image(image_factory=PyPNGImage).save(buffer)
    return buffer.getvalue()


def short_address(url: str) -> str:
    """The address as people type it: host and path, without the scheme."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def rotate_token(counter: ServicePoint, actor: User, grace_days: int = 14) -> datetime | None:
    """Give the counter a new QR token (a planned reprint); the old one keeps working for
    `grace_days` so the posters can be replaced. A revoked token gets no grace. Returns when the
    old address stops working (None: at once). Caller commits."""
    now = utcnow()
    if counter.qr_token_revoked or grace_days <= 0:
        counter.qr_token_previous, counter.qr_token_previous_until = None, None
    else:
        counter.qr_token_previous = counter.qr_token
        counter.qr_token_previous_until = now + timedelta(days=grace_days)
    counter.qr_token = new_qr_token()
    counter.qr_token_revoked = False
    until = counter.qr_token_previous_until
    record_event(actor, "counter.qr_rotate", counter.code,
                 old_address_until=until.isoformat(timespec="minutes") if until else None)
    return until


def grace_until(counter: ServicePoint, now: datetime | None = None) -> datetime | None:
    """Until when the counter's previous QR address still works (None: it does not)."""
    until = counter.qr_token_previous_until
    if counter.qr_token_previous is None or until is None or until <= (now or utcnow()):
        return None
    return until


def revoke_token(counter: ServicePoint, actor: User) -> None:
    """Stop the counter's QR address, and a previous one still in its grace period, from working
    at once, until it is rotated (a leaked or abused code; caller commits)."""
    counter.qr_token_revoked = True
    counter.qr_token_previous, counter.qr_token_previous_until = None, None
    record_event(actor, "counter.qr_revoke", counter.code)
