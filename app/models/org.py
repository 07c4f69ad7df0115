"""The organisation: agencies (a tree), counters (service points) and services."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow

AGENCY_LEVELS = ("province", "ministry", "department", "district", "commune")


def new_qr_token() -> str:
    """An unguessable token for a counter's QR address (128 bits of randomness)."""
    return secrets.token_urlsafe(16)


class Agency(Base):
    """An administrative agency: ministry, province, department, district or commune."""

    __tablename__ = "agency"
    __table_args__ = (
        CheckConstraint(
            "level IN ('province', 'department', 'district', 'commune', 'ministry')", name="level"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Agency | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Agency]] = relationship(back_populates="parent", order_by="Agency.code")
    service_points: Mapped[list[ServicePoint]] = relationship(
        back_populates="agency", order_by="ServicePoint.code"
    )

    def name(self, lang: str) -> str:
        """The agency's name in a language, Vietnamese when unknown."""
        return self.name_en if lang == "en" else self.name_vi


service_point_service = Table(
    "service_point_service",
    Base.metadata,
    Column("service_point_id", ForeignKey("service_point.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
)


class Service(Base):
    """An administrative procedure or service field offered at counters."""

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def name(self, lang: str) -> str:
        """The service's name in a language."""
        return self.name_en if lang == "en" else self.name_vi


class ServicePoint(Base):
    """A counter (or kiosk, or desk) where citizens are served and invited to rate."""

    __tablename__ = "service_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    # The QR address carries this token; rotating it retires old posters.
    qr_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_qr_token)
    qr_token_revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # After a rotation the previous token keeps working until `qr_token_previous_until` (a grace
    # period to reprint the posters); a revocation clears it at once.
    qr_token_previous: Mapped[str | None] = mapped_column(String(64), index=True)
    qr_token_previous_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    questionnaire_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaire.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship(back_populates="service_points")
    services: Mapped[list[Service]] = relationship(
        secondary=service_point_service, order_by="Service.code"
    )
    questionnaire = relationship("Questionnaire")

    def name(self, lang: str) -> str:
        """The counter's name in a language."""
        return self.name_en if lang == "en" else self.name_vi
