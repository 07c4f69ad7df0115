"""The handlers' work on cases (the inbox, assign, start, answer, close, notes, contact details) and the
citizen's (follow by code, reopen once, rate the answer). Every change is in the audit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Case, CaseContact, CaseNote, User
from app.models.auth import HANDLER, MANAGER
from app.models.base import utcnow
from app.services.accounts.audit import record_event
from app.services.cases import outbox
from app.services.cases.intake import case_due, normalise_code
from app.services.registry.scope import in_scope, may, visible_agency_ids

CASE_STATUSES = ("new", "assigned", "in_progress", "answered", "closed", "reopened")
OPEN = ("new", "assigned", "in_progress", "reopened")
MAX_ANSWER = 5000
MAX_NOTE = 2000
PAGE = 200


class CaseError(ValueError):
    """A change the case's state or the actor's rights do not allow; `reason` names it for the page."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class CaseFilter:
    """The inbox's filters (None: any)."""

    status: str | None = None
    overdue: bool = False
    agency_id: int | None = None
    counter_id: int | None = None
    mine: bool = False
    ids: list[int] = field(default_factory=list)


def list_cases(user: User, filters: CaseFilter, now: datetime | None = None) -> tuple[list[Case], int]:
    """The cases the user may see, newest first (at most PAGE), and how many match."""
    now = now or utcnow()
    query = select(Case)
    visible = visible_agency_ids(user)
    if visible is not None:
        query = query.where(Case.agency_id.in_(visible or {-1}))
    if filters.status in CASE_STATUSES:
        query = query.where(Case.status == filters.status)
    if filters.overdue:
        query = query.where(Case.status.in_(OPEN), Case.due_at < now)
    if filters.agency_id is not None:
        query = query.where(Case.agency_id == filters.agency_id)
    if filters.counter_id is not None:
        query = query.where(Case.service_point_id == filters.counter_id)
    if filters.mine:
        query = query.where(Case.assignee_id == user.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.options(selectinload(Case.agency), selectinload(Case.service_point),
                                            selectinload(Case.assignee))
                              .order_by(Case.due_at, Case.id).limit(PAGE)).all()
    return list(rows), total


def case_for_handler(user: User, case_id: int) -> Case | None:
    """A case by id when it lies in the user's scope, else None."""
    case = db.session.get(Case, case_id)
    if case is None or not in_scope(user, case.agency_id):
        return None
    return case


def handler_choices(case_agency_id: int | None, user: User) -> list[User]:
    """Who a case may be assigned to: active handlers and managers whose scope holds the agency (or, for
    the inbox's bulk form, the user's own agencies)."""
    users = db.session.scalars(select(User).where(User.active.is_(True), User.role.in_((HANDLER, MANAGER)))
                               .order_by(User.email)).all()
    if case_agency_id is None:
        visible = visible_agency_ids(user)
        return [u for u in users if visible is None or u.agency_id in visible]
    return [u for u in users if in_scope(u, case_agency_id)]


def _touch(case: Case, actor: User | None, action: str, **detail) -> None:
    case.updated_at = utcnow()
    record_event(actor, f"case.{action}", case.code, anonymous=actor is None, **detail)


def assign_case(case: Case, assignee: User, actor: User) -> None:
    """Give the case to a handler of its agency (caller commits)."""
    if case.status == "closed":
        raise CaseError("closed")
    if not assignee.active or assignee.role not in (HANDLER, MANAGER) or not in_scope(assignee,
                                                                                        case.agency_id):
        raise CaseError("assignee")
    case.assignee_id = assignee.id
    if case.status in ("new", "reopened", "assigned"):
        case.status = "assigned"
    _touch(case, actor, "assign", assignee=assignee.email)


def bulk_assign(user: User, case_ids: list[int], assignee: User) -> int:
    """Assign several cases at once; those out of scope or closed are left as they are. Caller commits."""
    done = 0
    for case_id in case_ids:
        case = case_for_handler(user, case_id)
        if case is None:
            continue
        try:
            assign_case(case, assignee, user)
        except CaseError:
            continue
        done += 1
    return done


def start_case(case: Case, actor: User) -> None:
    """The handler is working on it."""
    if case.status not in ("new", "assigned", "reopened"):
        raise CaseError("status")
    case.status = "in_progress"
    if case.assignee_id is None:
        case.assignee_id = actor.id
    _touch(case, actor, "start")


def answer_case(case: Case, text: str, actor: User) -> None:
    """The public answer: shown on the citizen's page, sent to their e-mail and the agency's webhook."""
    text = (text or "").strip()
    if not text:
        raise CaseError("empty")
    if len(text) > MAX_ANSWER:
        raise CaseError("too_long")
    if case.status not in OPEN:
        raise CaseError("status")
    case.answer = text
    case.answered_at = utcnow()
    case.status = "answered"
    if case.assignee_id is None:
        case.assignee_id = actor.id
    _touch(case, actor, "answer", on_time=case.answered_at <= case.due_at)
    outbox.notify_answered(case)


def close_case(case: Case, actor: User | None) -> None:
    """Close a case (answered, or one that needs no answer)."""
    if case.status == "closed":
        raise CaseError("status")
    case.status = "closed"
    case.closed_at = utcnow()
    _touch(case, actor, "close")


def add_note(case: Case, text: str, actor: User) -> None:
    """An internal note (never shown to the citizen)."""
    text = (text or "").strip()
    if not text:
        raise CaseError("empty")
    if len(text) > MAX_NOTE:
        raise CaseError("too_long")
    db.session.add(CaseNote(case_id=case.id, author_id=actor.id, text=text, at=utcnow()))
    _touch(case, actor, "note")


def view_contact(case: Case, actor: User) -> CaseContact | None:
    """The citizen's contact details, for the case's agency's handlers only; every look is audited."""
    if not may(actor, "case_contact") or not in_scope(actor, case.agency_id):
        raise CaseError("forbidden")
    contact = db.session.get(CaseContact, case.id)
    record_event(actor, "case.contact_view", case.code, present=contact is not None)
    return contact


# ---------------------------------------------------------------- the citizen


def case_by_code(text: str) -> Case | None:
    """A case by the code the citizen typed (any case, dashes optional), or None."""
    code = normalise_code(text)
    if code is None:
        return None
    return db.session.scalar(select(Case).where(Case.code == code))


def reopen_days() -> int:
    """Days after the answer during which the citizen may reopen the case (once)."""
    return int(current_app.config.get("CASE_REOPEN_DAYS", 14))


def may_reopen(case: Case, now: datetime | None = None) -> bool:
    """Once, within CASE_REOPEN_DAYS of the answer."""
    now = now or utcnow()
    return (case.status in ("answered", "closed") and case.answered_at is not None
            and case.reopened_at is None and now <= case.answered_at + timedelta(days=reopen_days()))


def reopen_case(case: Case) -> None:
    """The citizen is not satisfied with the answer: the case opens again with a new due date."""
    if not may_reopen(case):
        raise CaseError("reopen")
    now = utcnow()
    case.status = "reopened"
    case.reopened_at = now
    case.closed_at = None
    case.overdue_notified_at = None
    case.due_at = case_due(now)
    _touch(case, None, "reopen")
    outbox.notify_opened(case)


def rate_answer(case: Case, value: str) -> None:
    """The citizen's satisfaction with the answer, 1..5, once."""
    if case.answered_at is None or case.answer_rating is not None:
        raise CaseError("rate")
    if value not in {"1", "2", "3", "4", "5"}:
        raise CaseError("rating")
    case.answer_rating = int(value)
    _touch(case, None, "rate_answer", rating=int(value))


def public_view(case: Case, lang: str, now: datetime | None = None) -> dict:
    """What the citizen's page shows: no summary, notes, contact details or handler names."""
    now = now or utcnow()
    return {
        "code": case.code,
        "status": case.status,
        "agency": case.agency.name(lang),
        "counter": case.service_point.name(lang) if case.service_point else None,
        "opened_at": case.opened_at,
        "due_at": case.due_at,
        "overdue": case.status in OPEN and case.due_at < now,
        "answer": case.answer if case.status in ("answered", "closed") or case.reopened_at else None,
        "answered_at": case.answered_at,
        "may_reopen": may_reopen(case, now),
        "may_rate": case.answered_at is not None and case.answer_rating is None,
        "answer_rating": case.answer_rating,
        "reopen_days": reopen_days(),
    }
