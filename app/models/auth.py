"""Accounts: a user has one role and, for agency-bound roles, one agency whose subtree they see."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow

ADMINISTRATOR = "administrator"
DESIGNER = "designer"
MANAGER = "manager"
LEADER = "leader"
# Officers who answer citizens' cases of their agency (issue 18).
HANDLER = "handler"
# Interviewers of a survey campaign (issue 19): they enter sampled dossiers' answers, nothing else.
ENUMERATOR = "enumerator"
ROLES = (ADMINISTRATOR, DESIGNER, MANAGER, LEADER, HANDLER, ENUMERATOR)
# Roles that only make sense inside one agency's subtree.
SCOPED_ROLES = (MANAGER, LEADER, HANDLER, ENUMERATOR)


class User(Base):
    """A staff account of the survey administration."""

    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint(
            "role IN ('administrator', 'designer', 'manager', 'leader', 'handler', 'enumerator')",
            name="role"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # SHA-256 of the user's API token (the token itself is shown once and never stored).
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every session id: raised on logout, a password change or deactivation, which ends
    # every session opened before (a copied cookie included).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    agency = relationship("Agency")

    # Flask-Login protocol.
    @property
    def is_active(self) -> bool:
        """Deactivated accounts cannot log in."""
        return bool(self.active)

    @property
    def is_authenticated(self) -> bool:
        """A loaded user is authenticated."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Never anonymous."""
        return False

    def get_id(self) -> str:
        """Session id: the user id, the session version and a stamp of the password hash.

        Raising the version (logout, password change, deactivation) ends every earlier session.
        """
        return f"{self.id}:{self.session_version or 0}:{self.password_hash[-16:]}"
