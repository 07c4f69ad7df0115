"""Security headers on every response: CSP, frame protection, nosniff, referrer, HSTS.

The pages load scripts and styles only from our own origin, never inline, so
an injected `<script>` or `onclick=` does not run even if escaping ever
failed. Two places differ on purpose:

- `/k/…` (kiosk mode) may be framed by a page of the same origin, for a
  kiosk shell that wraps the survey; every other page refuses any frame.
- the printable QR posters (`admin.counter_poster`, `admin.agency_posters`)
  carry an inline `<style>` block and an `onclick="window.print()"` button,
  so they get `style-src 'unsafe-inline'` and the hash of that one handler
  (`'unsafe-hashes'`), nothing broader. Moving both into static files would
  let them drop the exception.
"""

from __future__ import annotations

import base64
import hashlib

from flask import Flask, current_app, request

KIOSK_PREFIX = "/k/"
POSTER_ENDPOINTS = frozenset({"admin.counter_poster", "admin.agency_posters"})
PRINT_HANDLER = "window.print()"


def _source_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def content_security_policy(kiosk: bool = False, poster: bool = False) -> str:
    """The Content-Security-Policy for a page: ours only, no inline script, frames as allowed."""
    script = "'self'"
    style = "'self'"
    if poster:
        script += f" 'unsafe-hashes' {_source_hash(PRINT_HANDLER)}"
        style += " 'unsafe-inline'"
    directives = [
        "default-src 'self'",
        f"script-src {script}",
        f"style-src {style}",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'" if kiosk else "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=31536000; includeSubDomains"


def _add_headers(response):
    kiosk = request.path.startswith(KIOSK_PREFIX)
    poster = request.endpoint in POSTER_ENDPOINTS
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(kiosk, poster))
    headers.setdefault("X-Frame-Options", "SAMEORIGIN" if kiosk else "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config.get("ENV_NAME") == "production":
        # Only behind TLS; a development server on http:// must not pin browsers to https.
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    """Add the security headers to every response of `app`."""
    app.after_request(_add_headers)
