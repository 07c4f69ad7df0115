"""Abuse signals: salted client hashes and suspicion flags.

Nothing here drops an answer. A suspicious response is stored like any other
with `suspicious` set and the reasons in `flags`, so the analysis can include
or exclude it; honest citizens behind one shared address are never lost.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import RATING_SLOTS, Response, slot_column

# channel -> (earlier responses from the same client tolerated, window in seconds).
# A phone rarely rates one counter more than a few times in ten minutes; a kiosk
# serves one person after another, but nobody answers in under ten seconds.
BURST_RULES = {"qr": (3, 600), "kiosk": (1, 10)}
DEFAULT_BURST_RULE = (3, 600)


def client_hash(address: str | None) -> str | None:
    """A salted HMAC of the client address; the address itself is never stored."""
    if not address:
        return None
    salt = current_app.config.get("CLIENT_HASH_SALT") or current_app.config["SECRET_KEY"]
    key = hmac.new(str(salt).encode(), b"client-hash-v1", hashlib.sha256).digest()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()


def _is_burst(client: str, channel: str, at: datetime) -> bool:
    allowed, seconds = BURST_RULES.get(channel, DEFAULT_BURST_RULE)
    window = timedelta(seconds=seconds)
    earlier = db.session.scalar(
        select(func.count())
        .select_from(Response)
        .where(
            Response.client_hash == client,
            Response.channel == channel,
            Response.submitted_at > at - window,
            Response.submitted_at < at + window,
        )
    )
    return earlier >= allowed


def _answer_set(row: Response) -> tuple:
    ratings = tuple(getattr(row, slot_column(i)) for i in range(1, RATING_SLOTS + 1))
    return row.version_id, row.service_id, ratings, sorted((row.answers or {}).items())


def _repeats_previous(candidate: Response) -> bool:
    """Whether the client's previous response carried exactly the same answers."""
    previous = db.session.scalar(
        select(Response)
        .where(
            Response.client_hash == candidate.client_hash,
            Response.submitted_at <= candidate.submitted_at,
        )
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(1)
    )
    return previous is not None and _answer_set(previous) == _answer_set(candidate)


def suspicion_flags(candidate: Response, honeypot_filled: bool) -> list[str]:
    """The reasons a response about to be stored looks automated or repeated."""
    flags = ["honeypot"] if honeypot_filled else []
    if candidate.client_hash:
        if _is_burst(candidate.client_hash, candidate.channel, candidate.submitted_at):
            flags.append("burst")
        if _repeats_previous(candidate):
            flags.append("repeat")
    return flags
