"""Health check of the app's dependencies."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db


def check_database() -> tuple[bool, str]:
    """Run a trivial query; return (ok, detail) without raising."""
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
    except SQLAlchemyError as exc:
        db.session.rollback()
        return False, type(exc).__name__
    return True, "ok"
