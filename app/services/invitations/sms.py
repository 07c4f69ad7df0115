"""The SMS adapter: an outbox message of kind 'sms' POSTed as JSON to an HTTP gateway.

The gateway is whatever the province contracts (docs/DEPLOY.md, "SMS gateway"): SMS_GATEWAY_URL receives
``{"to": "<phone>", "text": "<message>"}`` with the message's key in an Idempotency-Key header and, when
SMS_GATEWAY_TOKEN is set, ``Authorization: Bearer <token>``. A 2xx reply means sent; a 4xx (but 408, 409,
425, 429) means the gateway refuses this number or text for good (bounced); anything else, or no answer,
is tried again later by the outbox worker.
"""

from __future__ import annotations

import json
import unicodedata
import urllib.error
import urllib.request

from flask import current_app

from app.models import OutboxMessage
from app.services.cases.outbox import Permanent, Transient

# Vietnamese letters that do not decompose into a base letter and marks.
_PLAIN = str.maketrans({"đ": "d", "Đ": "D"})


def plain_text(text: str) -> str:
    """The text without diacritics: one SMS holds 160 such characters, but only 70 with them (UCS-2),
    and brandname gateways in Vietnam commonly refuse accented text."""
    decomposed = unicodedata.normalize("NFD", text.translate(_PLAIN))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def send_sms(message: OutboxMessage) -> None:
    """POST one SMS to the gateway; raises the outbox's Transient or Permanent on failure."""
    config = current_app.config
    url = config.get("SMS_GATEWAY_URL") or ""
    if not url.startswith(("https://", "http://")):
        raise Transient("SMS_GATEWAY_URL is not set (or not http(s))")
    body = json.dumps({"to": message.recipient, "text": message.body}, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message.key}
    if config.get("SMS_GATEWAY_TOKEN"):
        headers["Authorization"] = f"Bearer {config['SMS_GATEWAY_TOKEN']}"
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 (checked)
    try:
        timeout = float(config.get("SMS_GATEWAY_TIMEOUT") or 10)
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310 (http(s) only, checked above)
            return
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code not in (408, 409, 425, 429):
            raise Permanent(f"SMS gateway HTTP {exc.code}") from exc
        raise Transient(f"SMS gateway HTTP {exc.code}") from exc
    except OSError as exc:  # refused, unreachable, timeout
        raise Transient(f"{type(exc).__name__}: {exc}") from exc
