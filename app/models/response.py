"""Responses: one row per submitted questionnaire.

Ratings of `likert` questions are stored in fixed integer slots r1..r40 (the
slot of a question is its position among the version's likert questions,
see app.services.questionnaires.versions.rating_slots). Aggregating by agency and
criterion is then one sequential scan with SUM/COUNT per slot, instead of a
join over tens of millions of answer rows. Every other answer (choices,
numbers, comments) is kept in the `answers` JSON map, keyed by question code.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow

RATING_SLOTS = 40
CHANNELS = ("qr", "kiosk", "paper", "online", "import")
INTERVIEW_MODES = ("self", "face", "phone")
# Audit actions of a response's review (issue 17): each changes what the reports count.
REVIEW_ACTIONS = ("response.void", "response.restore", "response.confirm")


def slot_column(slot: int) -> str:
    """Name of the column holding rating slot `slot` (1-based)."""
    return f"r{slot}"


# A mixin built from a mapping keeps 40 identical column definitions in one line.
RatingSlots = type(
    "RatingSlots",
    (),
    {slot_column(i): mapped_column(SmallInteger, nullable=True) for i in range(1, RATING_SLOTS + 1)},
)


class Response(RatingSlots, Base):
    """One citizen's answers to one questionnaire version about one counter or agency."""

    __tablename__ = "response"
    __table_args__ = (
        CheckConstraint(
            "channel IN ('qr', 'kiosk', 'paper', 'online', 'import')", name="channel"
        ),
        CheckConstraint("weight IS NULL OR weight > 0", name="weight_positive"),
        Index("ix_response_agency_submitted", "agency_id", "submitted_at"),
        Index("ix_response_version_submitted", "version_id", "submitted_at"),
        # Burst and repeat checks look at one client's latest responses.
        Index("ix_response_client_submitted", "client_hash", "submitted_at"),
        # The reports count assisted responses (issue 16); they are few, so a partial index finds them
        # without reading a million rows (issue 15, item 7). Same expression as the query's condition.
        Index("ix_response_assisted", "version_id", "submitted_at",
              sqlite_where=text("assisted IS 1"), postgresql_where=text("assisted IS true")),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    # The public response_id of the CSV format.
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    # A per-form nonce: a retried or doubled submission hits this unique key.
    nonce: Mapped[str | None] = mapped_column(String(64), unique=True)
    # One response per dossier when it came through a signed receipt code.
    dossier_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_point.id"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    channel: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stratum: Mapped[str | None] = mapped_column(String(64))
    psu: Mapped[str | None] = mapped_column(String(64))
    weight: Mapped[float | None] = mapped_column(Float)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # The citizen was helped by an officer to fill the form in (issue 16): reported apart, like verified.
    assisted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    suspicious: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why it is suspicious, comma-separated: honeypot, burst, repeat (see app.services.collect.abuse).
    flags: Mapped[str | None] = mapped_column(String(64))
    # Salted hash of the client address: enough to spot bursts, not to identify anyone.
    client_hash: Mapped[str | None] = mapped_column(String(64))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    # A paper questionnaire or an interview (issue 17): the day the citizen answered (submitted_at is
    # then that day, at noon local time, so that reports count it in that month), who asked the
    # questions and how: self (filled in by the citizen), face (face to face), phone.
    interview_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    enumerator: Mapped[str | None] = mapped_column(String(64), nullable=True)
    interview_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Voided by staff (a test entry, a duplicate paper form; issue 17): kept, but out of every report,
    # report cell and export from that moment; an administrator may restore it.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    voided_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    void_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # Answered through an official campaign's invitation (issue 19): a sample drawn by design, reported
    # apart from the counter QR's convenience sample. The sampled dossier points back at this response.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), nullable=True, index=True)

    version = relationship("QuestionnaireVersion")
    agency = relationship("Agency")
    service_point = relationship("ServicePoint")
    service = relationship("Service")
