"""QR codes of counters: images, and rotating or revoking the token they carry."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import qrcode
from qrcode.image.pure import PyPNGImage
from qrcode.image.svg import SvgPathImage

from app.models import ServicePoint, User
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


def rotate_token(counter: ServicePoint, actor: User) -> None:
    """Give the counter a new QR token; old posters then lead to 'not found' (caller commits)."""
    counter.qr_token = new_qr_token()
    counter.qr_token_revoked = False
    record_event(actor, "counter.qr_rotate", counter.code)


def revoke_token(counter: ServicePoint, actor: User) -> None:
    """Stop the counter's QR address from working until it is rotated (caller commits)."""
    counter.qr_token_revoked = True
    record_event(actor, "counter.qr_revoke", counter.code)
