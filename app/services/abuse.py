"""Abuse signals: salted client hashes and suspicion flags.

Nothing here drops an answer. A suspicious response is stored like any other
with `suspicious` set and the reasons in `flags`, so the analysis can include
or exclude it; honest citizens behind one shared address are never lost.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, func, literal, select, true

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


# What "the same answers" compares: the version, the service, every rating slot and the other answers.
_COMPARED = (Response.version_id, Response.service_id,
             *(getattr(Response, slot_column(i)) for i in range(1, RATING_SLOTS + 1)), Response.answers)


def _answer_set(row) -> tuple:
    ratings = tuple(getattr(row, slot_column(i)) for i in range(1, RATING_SLOTS + 1))
    return row.version_id, row.service_id, ratings, sorted((row.answers or {}).items())


def _history_statement():
    """How many responses one client sent through one channel between two instants, and the answers
    of the client's latest response up to an instant (all None when there is none): one query, both
    parts on the (client_hash, submitted_at) index. Built once; only its parameters change."""
    earlier = (
        select(func.count())
        .select_from(Response)
        .where(
            Response.client_hash == bindparam("client"),
            Response.channel == bindparam("channel"),
            Response.submitted_at > bindparam("after"),
            Response.submitted_at < bindparam("before"),
        )
        .scalar_subquery()
    )
    previous = (
        select(*_COMPARED)
        .where(Response.client_hash == bindparam("client"), Response.submitted_at <= bindparam("at"))
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(1)
        .subquery()
    )
    one = select(literal(1).label("one")).subquery()
    return select(earlier.label("earlier"), *previous.c).select_from(one.outerjoin(previous, true()))


_HISTORY = _history_statement()


def _client_history(candidate):
    """Whether the candidate comes in a burst from its client, and the client's previous answers."""
    allowed, seconds = BURST_RULES.get(candidate.channel, DEFAULT_BURST_RULE)
    window = timedelta(seconds=seconds)
    at = candidate.submitted_at
    row = db.session.connection().execute(_HISTORY, {
        "client": candidate.client_hash, "channel": candidate.channel,
        "after": at - window, "before": at + window, "at": at,
    }).one()
    return row.earlier >= allowed, row if row.version_id is not None else None


def suspicion_flags(candidate, honeypot_filled: bool) -> list[str]:
    """The reasons a response about to be stored looks automated or repeated.

    `candidate` has the response's columns as attributes (a Response, or the values about to be
    inserted)."""
    flags = ["honeypot"] if honeypot_filled else []
    if candidate.client_hash:
        burst, previous = _client_history(candidate)
        if burst:
            flags.append("burst")
        if previous is not None and _answer_set(previous) == _answer_set(candidate):
            flags.append("repeat")
    return flags
