"""Security headers on every response (CSP, frames, nosniff, referrer, HSTS); trusted proxies.

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
- the leaders' reports (blueprint `reports`) draw charts with plotly.js,
  which sets inline styles as it draws; they get `style-src 'unsafe-inline'`.
  Their scripts stay strict: 'self' only.
"""

from __future__ import annotations

import base64
import hashlib

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import ConfigError

KIOSK_PREFIX = "/k/"
POSTER_ENDPOINTS = frozenset({"admin.counter_poster", "admin.agency_posters"})
INLINE_STYLE_BLUEPRINTS = frozenset({"reports"})
PRINT_HANDLER = "window.print()"


def _source_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def content_security_policy(kiosk: bool = False, poster: bool = False, inline_style: bool = False) -> str:
    """The Content-Security-Policy for a page: ours only, no inline script, frames as allowed."""
    script = "'self'"
    style = "'self'"
    if poster:
        script += f" 'unsafe-hashes' {_source_hash(PRINT_HANDLER)}"
    if poster or inline_style:
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
    inline_style = request.blueprint in INLINE_STYLE_BLUEPRINTS
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(kiosk, poster, inline_style))
    headers.setdefault("X-Frame-Options", "SAMEORIGIN" if kiosk else "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config.get("ENV_NAME") == "production":
        # Only behind TLS; a development server on http:// must not pin browsers to https.
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def forwarded_hops(app: Flask) -> int:
    """How many reverse proxies (nginx = 1) stand in front of gunicorn (setting FORWARDED_HOPS).

    0, the default, trusts no X-Forwarded-* header at all.
    """
    hops = app.config.get("FORWARDED_HOPS") or 0
    if not isinstance(hops, int) or hops < 0:
        raise ConfigError(f"FORWARDED_HOPS must be a whole number of proxies, got {hops!r}")
    return hops


def init_app(app: Flask) -> None:
    """Add the security headers to every response of `app`; trust the configured proxies only."""
    app.after_request(_add_headers)
    hops = forwarded_hops(app)
    if hops:
        # Behind nginx every request comes from 127.0.0.1: without this, rate limits and the
        # salted client hash would lump all citizens together. Without a proxy the header is
        # the client's own words, so it is ignored (hops = 0, the default).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
