"""Abuse signals: salted client hashes and suspicion flags.

Nothing here drops an answer. A suspicious response is stored like any other
with `suspicious` set and the reasons in `flags`, so the analysis can include
or exclude it; honest citizens behind one shared address are never lost.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, delete, func, literal, select, true
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import RATING_SLOTS, ClientHashSalt, Response, slot_column

# channel -> (earlier responses from the same client tolerated, window in seconds).
# A phone rarely rates one counter more than a few times in ten minutes; a kiosk
# serves one person after another, but nobody answers in under ten seconds.
BURST_RULES = {"qr": (3, 600), "kiosk": (1, 10)}
DEFAULT_BURST_RULE = (3, 600)


# Days of salts kept: today's, and yesterday's until today's is made (then it goes).
SALT_DAYS_KEPT = 2


def client_hash(address: str | None, now: datetime | None = None) -> str | None:
    """An HMAC of the client address under the day's random salt; the address itself is never stored.

    The salt is drawn at random once per day (in TIMEZONE) for the whole instance and kept in the
    database (table client_hash_salt) only until the day after: within a day one client's posts
    share a hash (the burst and repeat checks), across days they cannot be linked, and once the
    salt is gone no address can be tried against an old hash, not even with SECRET_KEY."""
    if not address:
        return None
    return hmac.new(day_salt(local_day(now)), address.encode(), hashlib.sha256).hexdigest()


def local_day(now: datetime | None = None) -> date:
    """The calendar day in TIMEZONE."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


def day_salt(day: date) -> bytes:
    """The day's salt: from this process's memory, else the database, else drawn now. Drawn by one
    statement in its own committed transaction (a racing worker's draw wins, and both use it), so a
    citizen's post that is rolled back never takes the day's salt with it."""
    cache = current_app.extensions.setdefault("client_hash_salt", {})
    if day not in cache:
        cache.clear()
        cache[day] = bytes.fromhex(_stored_salt(day))
    return cache[day]


def _stored_salt(day: date) -> str:
    table = ClientHashSalt.__table__
    with db.engine.begin() as connection:
        salt = connection.scalar(select(table.c.salt).where(table.c.day == day))
        if salt is None:
            insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
            connection.execute(insert(table).values(day=day, salt=secrets.token_hex(32))
                               .on_conflict_do_nothing(index_elements=["day"]))
            connection.execute(delete(table).where(table.c.day <= day - timedelta(days=SALT_DAYS_KEPT)))
            salt = connection.scalar(select(table.c.salt).where(table.c.day == day))
    return salt


def purge_salts(now: datetime | None = None) -> int:
    """Delete the salts of the day before yesterday and older (`flask audit purge`)."""
    cutoff = local_day(now) - timedelta(days=SALT_DAYS_KEPT)
    return db.session.execute(delete(ClientHashSalt).where(ClientHashSalt.day <= cutoff)).rowcount


# What "the same answers" compares: the version, the service, every rating slot and the other answers.
_COMPARED = (Response.version_id, Response.service_id,
             *(getattr(Response, slot_column(i)) for i in range(1, RATING_SLOTS + 1)), Response.answers)


def _answer_set(row) -> tuple:
    ratings = tuple(getattr(row, slot_column(i)) for i in range(1, RATING_SLOTS + 1))
    return row.version_id, row.service_id, ratings, sorted((row.answers or {}).items())


@dataclass(frozen=True)
class ClientVisit:
    """Who is posting (the salted address hash, or None), through which channel, at what instant."""

    client: str | None
    channel: str
    at: datetime

    def params(self) -> dict:
        """The bind parameters of HISTORY_COLUMNS for this visit."""
        _, seconds = BURST_RULES.get(self.channel, DEFAULT_BURST_RULE)
        window = timedelta(seconds=seconds)
        return {"client": self.client, "channel": self.channel,
                "after": self.at - window, "before": self.at + window, "at": self.at}


@dataclass(frozen=True)
class ClientHistory:
    """How many responses the client sent through the channel within the burst window around the
    visit, and the answer set of its latest response up to the visit (None when there is none)."""

    earlier: int
    previous: tuple | None


def _history_parts():
    # Both parts on the (client_hash, submitted_at) index; built once, only parameters change.
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
    return earlier, previous


_EARLIER, HISTORY_FROM = _history_parts()
# A client's history as columns of another query (which outer-joins HISTORY_FROM on true): the
# citizen form reads it in the query that reads the counter, one statement fewer per post.
HISTORY_COLUMNS = (_EARLIER.label("earlier"), *HISTORY_FROM.c)
_HISTORY = select(*HISTORY_COLUMNS).select_from(
    select(literal(1).label("one")).subquery().outerjoin(HISTORY_FROM, true()))


def history_from(values) -> ClientHistory:
    """The history in the values of HISTORY_COLUMNS (in their order)."""
    earlier, version_id, service_id, *rest = values
    if version_id is None:
        return ClientHistory(earlier, None)
    ratings, answers = tuple(rest[:RATING_SLOTS]), rest[RATING_SLOTS]
    return ClientHistory(earlier, (version_id, service_id, ratings, sorted((answers or {}).items())))


def read_client_history(visit: ClientVisit) -> ClientHistory:
    """The visit's client history, by its own query."""
    return history_from(db.session.connection().execute(_HISTORY, visit.params()).one())


def suspicion_flags(candidate, honeypot_filled: bool, history: ClientHistory | None = None) -> list[str]:
    """The reasons a response about to be stored looks automated or repeated.

    `candidate` has the response's columns as attributes (a Response, or the values about to be
    inserted); `history` is its client's, when already read (else it is read here)."""
    flags = ["honeypot"] if honeypot_filled else []
    if candidate.client_hash:
        if history is None:
            visit = ClientVisit(candidate.client_hash, candidate.channel, candidate.submitted_at)
            history = read_client_history(visit)
        allowed, _ = BURST_RULES.get(candidate.channel, DEFAULT_BURST_RULE)
        if history.earlier >= allowed:
            flags.append("burst")
        if history.previous is not None and history.previous == _answer_set(candidate):
            flags.append("repeat")
    return flags
