"""Dossier volumes: how many dossiers an agency or counter handled in a month."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow


class DossierVolume(Base):
    """Dossiers handled per agency (service_point empty) or per counter, per calendar month."""

    __tablename__ = "dossier_volume"
    __table_args__ = (
        CheckConstraint("dossiers >= 0", name="dossiers_nonnegative"),
        Index("ix_dossier_volume_agency_month", "agency_id", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_point.id"))
    # The first day of the month.
    month: Mapped[date] = mapped_column(Date)
    dossiers: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    agency = relationship("Agency")
    service_point = relationship("ServicePoint")
