"""Cases (issue 18): a citizen's request for an answer or a low rating that an agency must answer on time.

The citizen's contact details live in their own table (`case_contact`), apart from the answers and the
case, so that they can be shown only to the agency's handlers and deleted after a retention period.
Notifications go through a transactional outbox (`outbox_message`): written in the transaction that
changes the case, sent later by `flask outbox run`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow

CASE_STATUSES = ("new", "assigned", "in_progress", "answered", "closed", "reopened")
CASE_SOURCES = ("request", "rating", "comment")
OUTBOX_KINDS = ("email", "webhook")
OUTBOX_STATUSES = ("pending", "sent", "failed")


class Case(Base):
    """One case: who must answer (the counter's agency), by when, and the public answer."""

    __tablename__ = "citizen_case"
    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'assigned', 'in_progress', 'answered', 'closed', 'reopened')", name="status"
        ),
        CheckConstraint("source IN ('request', 'rating', 'comment')", name="source"),
        CheckConstraint("answer_rating IS NULL OR answer_rating BETWEEN 1 AND 5", name="answer_rating"),
        Index("ix_citizen_case_agency_status", "agency_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the citizen types at /c/<code>: 80 random bits, nothing about the dossier.
    code: Mapped[str] = mapped_column(String(24), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_point.id"), index=True)
    response_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("response.id", ondelete="SET NULL"), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="new")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"),
                                                    index=True)
    # Why it opened, for the handlers (a comment, the low ratings); never shown on the public page.
    summary: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The citizen's satisfaction with the answer (1..5), asked on the case page once answered.
    answer_rating: Mapped[int | None] = mapped_column(SmallInteger)
    # When the handlers were told the case is overdue (once per case).
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    agency = relationship("Agency")
    service_point = relationship("ServicePoint")
    assignee = relationship("User")
    notes: Mapped[list[CaseNote]] = relationship(back_populates="case", order_by="CaseNote.id",
                                                 cascade="all, delete-orphan")
    contact: Mapped[CaseContact | None] = relationship(back_populates="case", cascade="all, delete-orphan")


class CaseContact(Base):
    """How to reach the citizen: personal data, apart from the answers, deleted after the retention."""

    __tablename__ = "case_contact"

    case_id: Mapped[int] = mapped_column(ForeignKey("citizen_case.id", ondelete="CASCADE"),
                                         primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="contact")


class CaseNote(Base):
    """An internal note of a handler on a case (never shown to the citizen)."""

    __tablename__ = "case_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("citizen_case.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="notes")
    author = relationship("User")


class AgencyWebhook(Base):
    """Where an agency's case events go (the province's one-stop system), signed with a shared secret."""

    __tablename__ = "agency_webhook"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OutboxMessage(Base):
    """A notification to send: written with the change it tells of, sent by the outbox worker."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("kind IN ('email', 'webhook', 'sms')", name="kind"),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        Index("ix_outbox_message_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Message-ID of an e-mail, the Idempotency-Key header of a webhook: the same on every attempt.
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("citizen_case.id", ondelete="SET NULL"),
                                                index=True)
    # Whether this message is to the citizen (its address is personal data, cleared on purge).
    to_citizen: Mapped[bool] = mapped_column(default=False)
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker that took the message holds it until then (another worker leaves it alone).
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
