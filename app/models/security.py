"""Security bookkeeping shared by every worker: failed logins per account and address, daily salts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class LoginThrottle(Base):
    """Failed logins of one e-mail from one client address (a keyed hash of it, never the address).

    Kept in the database, not in a worker's memory, so every gunicorn worker and every app
    server counts the same failures (docs/SECURITY.md)."""

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("email", "client"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    client: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Refused until then (None: not refused yet).
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ClientHashSalt(Base):
    """The random salt of one day's client hashes; deleted two days later, so no hash can be
    recomputed from an address afterwards (not even with SECRET_KEY)."""

    __tablename__ = "client_hash_salt"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))
