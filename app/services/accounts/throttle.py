"""Failed logins counted per (account, client address) pair, in the database.

Five failures of one pair refuse that pair for a minute, then each further failure doubles the
wait (up to a day). Only the pair is refused: the owner logging in from another address is never
held up by what a stranger does, and the wrong passwords cost the stranger more and more time.
The counts live in the database, so every gunicorn worker and every app server sees the same
(a worker's memory would let each worker grant its own five tries). An administrator can clear
an account's counts (`unlock`); a successful login clears its own pair.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import LoginThrottle, User
from app.models.base import utcnow
from app.services.accounts.audit import record_event

FREE_FAILURES = 5
FIRST_DELAY = timedelta(minutes=1)
LONGEST_DELAY = timedelta(days=1)
# A pair's count starts again after this long without a failure.
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Refusal:
    """A pair is refused until `until`."""

    until: datetime

    def minutes(self, now: datetime | None = None) -> int:
        """Whole minutes left, at least 1."""
        seconds = (self.until - (now or utcnow())).total_seconds()
        return max(1, int(-(-seconds // 60)))


def client_key(address: str | None) -> str:
    """A keyed hash of the client address: the table never holds the address itself."""
    key = hmac.new(str(current_app.config["SECRET_KEY"]).encode(), b"login-throttle-v1", hashlib.sha256)
    return hmac.new(key.digest(), (address or "-").encode(), hashlib.sha256).hexdigest()


def _email(email: str) -> str:
    return email.strip().lower()[:254]


def _row(email: str, client: str) -> LoginThrottle | None:
    return db.session.scalar(
        select(LoginThrottle).where(LoginThrottle.email == email, LoginThrottle.client == client))


def refusal(email: str, address: str | None, now: datetime | None = None) -> Refusal | None:
    """Whether this account and address are refused for now, and until when."""
    row = _row(_email(email), client_key(address))
    now = now or utcnow()
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return Refusal(row.locked_until)


def delay_after(failures: int) -> timedelta | None:
    """How long a pair is refused after its `failures`-th failure (None: not yet)."""
    if failures < FREE_FAILURES:
        return None
    return min(FIRST_DELAY * 2 ** min(failures - FREE_FAILURES, 20), LONGEST_DELAY)


def record_failure(email: str, address: str | None, now: datetime | None = None) -> Refusal | None:
    """Count one failed login of the pair (in its own transaction step, caller commits); the
    refusal it now earns, if any. The count goes up in one UPDATE, so workers racing add up."""
    email, client, now = _email(email), client_key(address), now or utcnow()
    row = _row(email, client)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(LoginThrottle(email=email, client=client, failures=0, last_failure_at=now))
        except IntegrityError:  # another worker added the pair first
            pass
        row = _row(email, client)
    elif row.last_failure_at <= now - FORGET_AFTER:
        row.failures = 0
        row.locked_until = None
    db.session.execute(update(LoginThrottle).where(LoginThrottle.id == row.id)
                       .values(failures=LoginThrottle.failures + 1, last_failure_at=now))
    db.session.refresh(row)
    wait = delay_after(row.failures)
    if wait is None:
        return None
    row.locked_until = now + wait
    return Refusal(row.locked_until)


def clear_pair(email: str, address: str | None) -> None:
    """A successful login forgets its own pair's failures (caller commits)."""
    db.session.execute(delete(LoginThrottle).where(
        LoginThrottle.email == _email(email), LoginThrottle.client == client_key(address)))


def locked_pairs(user: User, now: datetime | None = None) -> int:
    """How many addresses are refused for this account now."""
    rows = db.session.scalars(select(LoginThrottle.locked_until).where(LoginThrottle.email == user.email))
    now = now or utcnow()
    return sum(1 for until in rows if until is not None and until > now)


def unlock(user: User, actor: User) -> int:
    """Forget every failed login of the account, from any address (audited; caller commits)."""
    removed = db.session.execute(delete(LoginThrottle).where(LoginThrottle.email == user.email)).rowcount
    record_event(actor, "user.unlock", user.email, pairs=removed)
    return removed


def purge_throttles(now: datetime | None = None) -> int:
    """Delete the pairs nobody has failed with for a day and that are not refused any more."""
    now = now or utcnow()
    return db.session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_failure_at <= now - FORGET_AFTER,
        (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until <= now))).rowcount
