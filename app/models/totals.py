"""A national installation's units' totals files (issue 20): the units' public keys and the files imported."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow


class TotalsUnitKey(Base):
    """A unit's (a top-level agency's) Ed25519 public key, as `flask totals key` printed it there."""

    __tablename__ = "totals_unit_key"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    agency = relationship("Agency")


class TotalsImport(Base):
    """One unit's totals file for a period, as received (the bytes are kept: the roll-up reads them).

    A newer file of the same unit and period replaces the older one: the older row stays, inactive,
    with `replaced_by_id` set, so what was published when can be told.
    """

    __tablename__ = "totals_import"
    __table_args__ = (Index("ix_totals_import_unit_active", "agency_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    questionnaire_code: Mapped[str] = mapped_column(String(64))
    questionnaire_version: Mapped[int] = mapped_column(Integer)
    questionnaire_sha256: Mapped[str] = mapped_column(String(64))
    period_from: Mapped[str] = mapped_column(String(7))
    period_to: Mapped[str] = mapped_column(String(7))
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    responses: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(40), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("totals_import.id"))

    agency = relationship("Agency")
