"""Server-side checks every admin and report route makes: role, then agency scope."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort
from flask_login import current_user

from app.extensions import login_manager
from app.services.registry import in_scope, may


def requires(capability: str):
    """Route decorator: log in first, then hold `capability` (else 403)."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not may(current_user, capability):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


def ensure_scope(agency_id: int | None) -> None:
    """Abort with 403 unless the agency lies in the current user's subtree."""
    if not in_scope(current_user, agency_id):
        abort(403)


def safe_next(target: str | None, default: str) -> str:
    """A `next` address only if it stays on this site (a path, not another host)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target
