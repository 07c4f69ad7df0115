"""Official survey mode (issue 19): dossier lists, campaigns, their strata and drawn samples.

A dossier is one completed case of the one-stop system, imported from its export. Its contact
(an e-mail, a phone number, a postal address) is personal data: it lives in `dossier_contact`,
apart, read by survey administrators only, and deleted when the campaign that used it is purged.

A campaign plans and draws a stratified sample of dossiers for one questionnaire version and
period. Once drawn it is frozen: its seed, strata and every sampled dossier's inclusion
probability are recorded, so the weights follow from the design and the draw can be repeated.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow

CONTACT_CHANNELS = ("email", "sms", "post", "phone")
CAMPAIGN_STATUSES = ("planning", "drawn", "closed", "purged")
ALLOCATIONS = ("proportional", "equal", "neyman")
DRAW_METHODS = ("srs", "systematic")
STRATA_BY = ("agency", "agency_procedure_group")
# What happened to one invitation, in the order a sampled dossier goes through them (AAPOR terms).
SAMPLE_OUTCOMES = ("pending", "invited", "delivered", "bounced", "opened", "answered", "refused")


class Dossier(Base):
    """One dossier of the one-stop system: what was asked, where, and whether it was done on time."""

    __tablename__ = "dossier"
    __table_args__ = (
        CheckConstraint("completed_on IS NULL OR completed_on >= received_on",
                        name="completed_after_received"),
        CheckConstraint("apologies >= 0", name="apologies_nonnegative"),
        # Covering: the timeliness figures (and the campaigns' frames) read the index, not the rows.
        Index("ix_dossier_agency_completed", "agency_id", "completed_on", "on_time", "apologies"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The one-stop system's dossier code: unique in an installation; re-importing it updates the row.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_point.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    procedure: Mapped[str] = mapped_column(String(300))
    # An optional grouping of procedures (e.g. land, civil status) that a campaign may stratify by.
    procedure_group: Mapped[str | None] = mapped_column(String(64))
    received_on: Mapped[date] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    # As the one-stop system says; when empty it is computed from completed_on <= due_on.
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    # Public apology letters issued for this dossier being late.
    apologies: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    agency = relationship("Agency")
    service_point = relationship("ServicePoint")
    service = relationship("Service")
    contact: Mapped[DossierContact | None] = relationship(
        back_populates="dossier", cascade="all, delete-orphan", uselist=False)


class DossierContact(Base):
    """How to reach a dossier's holder: personal data, kept apart and purged with its campaign."""

    __tablename__ = "dossier_contact"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms', 'post', 'phone')", name="channel"),
    )

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    # An e-mail address, a phone number or a postal address, by channel.
    address: Mapped[str] = mapped_column(String(500))
    # The holder's name for a letter's envelope (optional).
    name: Mapped[str | None] = mapped_column(String(200))

    dossier: Mapped[Dossier] = relationship(back_populates="contact")


class Campaign(Base):
    """A planned, drawn and tracked sample survey of dossier holders."""

    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("status IN ('planning', 'drawn', 'closed', 'purged')", name="status"),
        CheckConstraint("allocation IN ('proportional', 'equal', 'neyman')", name="allocation"),
        CheckConstraint("method IN ('srs', 'systematic')", name="method"),
        CheckConstraint("strata_by IN ('agency', 'agency_procedure_group')", name="strata_by"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("target_half_width > 0 AND target_half_width < 1", name="target_half_width"),
        CheckConstraint("design_effect >= 1", name="design_effect"),
        CheckConstraint("expected_response_rate > 0 AND expected_response_rate <= 1", name="expected_rr"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    # The agency whose subtree the campaign covers (its dossiers and strata).
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    # Dossiers completed within [period_start, period_end] make the sampling frame.
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    strata_by: Mapped[str] = mapped_column(String(32), default="agency")
    # Half-width of the 95 % interval of the share satisfied per stratum, as a fraction (0.05 = ±5 points).
    target_half_width: Mapped[float] = mapped_column(Float, default=0.05)
    design_effect: Mapped[float] = mapped_column(Float, default=1.0)
    expected_response_rate: Mapped[float] = mapped_column(Float, default=0.5)
    allocation: Mapped[str] = mapped_column(String(16), default="proportional")
    # A cap on the total number of dossiers invited (empty: none).
    budget: Mapped[int | None] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(16), default="srs")
    # Recorded at the draw: drawing again with it gives the same sample.
    seed: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="planning")
    # Days after the invitation before a reminder goes to those who have not answered.
    reminder_days: Mapped[int] = mapped_column(Integer, default=7)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    version = relationship("QuestionnaireVersion")
    agency = relationship("Agency")
    strata: Mapped[list[CampaignStratum]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", order_by="CampaignStratum.key")


class CampaignStratum(Base):
    """One stratum of a campaign: its frame size, planned and drawn sample sizes."""

    __tablename__ = "campaign_stratum"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    # "<agency code>" or "<agency code>/<procedure group>".
    key: Mapped[str] = mapped_column(String(128))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    procedure_group: Mapped[str | None] = mapped_column(String(64))
    # Dossiers in the frame (N_h), the sample planned (n_h) and actually drawn.
    population: Mapped[int] = mapped_column(Integer)
    planned: Mapped[int] = mapped_column(Integer, default=0)
    drawn: Mapped[int] = mapped_column(Integer, default=0)

    campaign: Mapped[Campaign] = relationship(back_populates="strata")
    agency = relationship("Agency")


class CampaignSample(Base):
    """A drawn dossier: its inclusion probability, invitation code and what became of the invitation."""

    __tablename__ = "campaign_sample"
    __table_args__ = (
        UniqueConstraint("campaign_id", "dossier_id"),
        CheckConstraint("inclusion_probability > 0 AND inclusion_probability <= 1", name="probability"),
        CheckConstraint(
            "outcome IN ('pending', 'invited', 'delivered', 'bounced', 'opened', 'answered', 'refused')",
            name="outcome"),
        Index("ix_campaign_sample_campaign_outcome", "campaign_id", "outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    stratum_id: Mapped[int] = mapped_column(ForeignKey("campaign_stratum.id", ondelete="CASCADE"))
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    # Order of selection within the stratum (1-based): makes the draw's output comparable.
    draw_order: Mapped[int] = mapped_column(Integer)
    inclusion_probability: Mapped[float] = mapped_column(Float)
    # Looks up the invitation's one-time code (a keyed hash of it; the code itself is never stored).
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The furthest state reached; the timestamps below keep when each happened.
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    channel: Mapped[str | None] = mapped_column(String(16))
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("response.id", ondelete="SET NULL"), unique=True)

    campaign = relationship("Campaign")
    stratum = relationship("CampaignStratum")
    dossier = relationship("Dossier")
    response = relationship("Response")
