"""The audit log: record administrative actions and read them back."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import AuditEvent, User
from app.models.base import utcnow

PAGE_SIZE = 100


def record_event(actor: User | None, action: str, target: str = "", *, anonymous: bool = False,
                 **detail) -> AuditEvent:
    """Add an audit event in the caller's transaction (it is stored when the action commits).

    Without an actor the event is the system's (command line), or an anonymous visitor's.
    """
    event = AuditEvent(
        user_id=actor.id if actor is not None else None,
        actor=actor.email if actor is not None else ("anonymous" if anonymous else "system"),
        action=action,
        target=target[:300],
        detail=detail,
    )
    db.session.add(event)
    return event


def list_events(page: int = 1, action: str | None = None) -> tuple[list[AuditEvent], int]:
    """One page of events, newest first, and the total count."""
    query = select(AuditEvent)
    count = select(func.count()).select_from(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
        count = count.where(AuditEvent.action == action)
    page = max(page, 1)
    events = db.session.scalars(
        query.order_by(AuditEvent.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return list(events), db.session.scalar(count) or 0


def event_actions() -> list[str]:
    """The distinct actions in the log, for a filter."""
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


# Events that hold what an anonymous visitor typed (the e-mail of a failed login): kept for a
# while to see an attack, then deleted (AUDIT_FAILED_LOGIN_DAYS, `flask audit purge`).
EXPIRING_ACTIONS = ("user.login_failed",)


def purge_expiring_events(days: int, now: datetime | None = None) -> int:
    """Delete failed-login events older than `days` days; how many went (caller commits)."""
    cutoff = (now or utcnow()) - timedelta(days=max(days, 0))
    return db.session.execute(delete(AuditEvent).where(
        AuditEvent.action.in_(EXPIRING_ACTIONS), AuditEvent.at < cutoff)).rowcount
