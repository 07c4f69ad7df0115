"""Deleting the citizens' contact details after the retention period (CASE_CONTACT_RETENTION_MONTHS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from app.extensions import db
from app.models import Case, CaseContact, OutboxMessage
from app.models.base import utcnow
from app.services.accounts.audit import record_event


@dataclass
class Purged:
    """What a purge did."""

    closed: int = 0
    contacts: int = 0
    messages: int = 0


def _months_before(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.month - 1 - months, 12)
    year += moment.year
    day = min(moment.day, 28)
    return moment.replace(year=year, month=month + 1, day=day)


def purge_contacts(now: datetime | None = None, months: int | None = None) -> Purged:
    """Close answered cases whose reopening window passed, then delete the contact details of cases closed
    more than `months` ago (CASE_CONTACT_RETENTION_MONTHS, default 12) and clear the addresses of the
    e-mails sent to those citizens. One transaction; commits."""
    now = now or utcnow()
    months = int(current_app.config.get("CASE_CONTACT_RETENTION_MONTHS", 12) if months is None else months)
    result = Purged()
    window = timedelta(days=int(current_app.config.get("CASE_REOPEN_DAYS", 14)))
    stale = db.session.scalars(select(Case).where(Case.status == "answered",
                                                  Case.answered_at < now - window)).all()
    for case in stale:
        case.status = "closed"
        case.closed_at = now
        case.updated_at = now
        record_event(None, "case.close", case.code, reason="reopen window passed")
    result.closed = len(stale)
    db.session.flush()
    expired = select(Case.id).where(Case.status == "closed", Case.closed_at < _months_before(now, months))
    result.contacts = db.session.execute(
        delete(CaseContact).where(CaseContact.case_id.in_(expired))
        .execution_options(synchronize_session=False)).rowcount
    result.messages = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.to_citizen.is_(True), OutboxMessage.recipient != "",
                                    OutboxMessage.status != "pending", OutboxMessage.case_id.in_(expired))
        .values(recipient="", body="").execution_options(synchronize_session=False)).rowcount
    if result.contacts or result.messages or result.closed:
        record_event(None, "case.contact_purge", "", contacts=result.contacts, messages=result.messages,
                     closed=result.closed, months=months)
    db.session.commit()
    return result
