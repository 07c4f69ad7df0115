"""Questionnaires and their immutable published versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow


class Questionnaire(Base):
    """A questionnaire identity (its `code`); its content lives in versions."""

    __tablename__ = "questionnaire"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[QuestionnaireVersion]] = relationship(
        back_populates="questionnaire", order_by="QuestionnaireVersion.version"
    )


class QuestionnaireVersion(Base):
    """One version of a questionnaire; once published it never changes."""

    __tablename__ = "questionnaire_version"
    __table_args__ = (
        UniqueConstraint("questionnaire_id", "version"),
        CheckConstraint("status IN ('draft', 'published')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # The validated, normalised questionnaire file (analysis.questionnaire definition).
    definition: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="versions")


class PublishedVersionImmutable(Exception):
    """Raised when code tries to change a published questionnaire version."""


@event.listens_for(QuestionnaireVersion, "before_update")
def _refuse_changes_to_published(mapper, connection, target: QuestionnaireVersion) -> None:
    # Responses point at a version; changing it would silently rewrite what was asked.
    attrs = target._sa_instance_state.attrs
    status = attrs.status.history
    old_status = status.deleted[0] if status.deleted else target.status
    changed = any(attrs[name].history.has_changes() for name in ("definition", "version", "status"))
    if old_status == "published" and changed:
        raise PublishedVersionImmutable(
            f"questionnaire version {target.version} is published and cannot change"
        )
