"""Review of responses by staff (issue 17): find them, read one in words, void, restore, confirm.

A voided response is kept (voided_at, voided_by, void_reason) but leaves every report, report
cell and export at once: its cell is decremented in the same transaction (reports.cells), and the
reports' data version follows the audit log's review events. An administrator may restore it.
A flagged (suspicious) response can be confirmed: it then counts like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext
from sqlalchemy import String, and_, cast, func, or_, select, true
from sqlalchemy.orm import joinedload

from analysis.questionnaire import Questionnaire
from app.extensions import db
from app.models import CHANNELS, QuestionnaireVersion, Response, User, slot_column
from app.models.auth import ADMINISTRATOR
from app.models.base import utcnow
from app.services.accounts.audit import record_event
from app.services.exchange.problems import Problem
from app.services.questionnaires.versions import questionnaire_of, rating_slots
from app.services.registry.scope import subtree_ids, visible_agency_ids
from app.services.reports import cells as report_cells

PER_PAGE = 50
MAX_REASON = 300
MAX_SEARCH = 100


class ReviewError(ValueError):
    """A review step that cannot be done (already voided, not voided, no reason, not allowed)."""


@dataclass(frozen=True)
class ReviewFilter:
    """What the list shows; every field optional. `voided`: "no" (default), "yes" (only) or "all"."""

    agency_id: int | None = None
    counter_id: int | None = None
    start: date | None = None
    end: date | None = None
    channel: str = ""
    flagged: str = ""    # "", "yes", "no"
    verified: str = ""   # "", "yes", "no"
    voided: str = "no"
    text: str = ""


@dataclass
class ReviewPage:
    """One page of responses, newest first."""

    rows: list[Response]
    total: int
    page: int
    pages: int


def _day_start(day: date, zone) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _text_condition(text: str):
    """A comment (any text answer) containing the words, case-insensitively."""
    codes = set()
    for version in db.session.scalars(select(QuestionnaireVersion)):
        codes.update(q.code for q in questionnaire_of(version).all_questions() if q.type == "text")
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if not codes:
        return cast(Response.answers, String).ilike(pattern, escape="\\")
    return or_(*(Response.answers[code].as_string().ilike(pattern, escape="\\") for code in sorted(codes)))


def _place(user: User, spec: ReviewFilter) -> list:
    clauses = []
    visible = visible_agency_ids(user)
    if visible is not None:
        clauses.append(Response.agency_id.in_(sorted(visible)))
    if spec.agency_id:
        clauses.append(Response.agency_id.in_(sorted(subtree_ids(spec.agency_id))))
    if spec.counter_id:
        clauses.append(Response.service_point_id == spec.counter_id)
    return clauses


def _where(user: User, spec: ReviewFilter, zone) -> list:
    clauses = _place(user, spec)
    if spec.start:
        clauses.append(Response.submitted_at >= _day_start(spec.start, zone))
    if spec.end:
        clauses.append(Response.submitted_at < _day_start(spec.end + timedelta(days=1), zone))
    if spec.channel in CHANNELS:
        clauses.append(Response.channel == spec.channel)
    for value, column in ((spec.flagged, Response.suspicious), (spec.verified, Response.verified)):
        if value in ("yes", "no"):
            clauses.append(column.is_(value == "yes"))
    if spec.voided == "no":
        clauses.append(Response.voided_at.is_(None))
    elif spec.voided == "yes":
        clauses.append(Response.voided_at.is_not(None))
    if spec.text.strip():
        clauses.append(_text_condition(spec.text.strip()[:MAX_SEARCH]))
    return clauses


def list_responses(user: User, spec: ReviewFilter, page: int, zone, per_page: int = PER_PAGE) -> ReviewPage:
    """The responses the user may see that match the filter: the page asked for (clamped)."""
    clauses = _where(user, spec, zone)
    where = and_(*clauses) if clauses else true()
    total = int(db.session.scalar(select(func.count()).select_from(Response).where(where)))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = db.session.scalars(
        select(Response).options(joinedload(Response.agency), joinedload(Response.service_point))
        .where(where).order_by(Response.submitted_at.desc(), Response.id.desc())
        .offset((page - 1) * per_page).limit(per_page)).all()
    return ReviewPage(list(rows), total, page, pages)


@dataclass(frozen=True)
class AnswerLine:
    """One question of a response, in words."""

    code: str
    element: str | None
    question: str
    answer: str | None  # None: not answered


def _in_words(question, value, questionnaire: Questionnaire, lang: str) -> str:
    if question.type == "likert":
        labels = questionnaire.scale.labels.get(lang) or questionnaire.scale.labels.get("vi") or ()
        word = labels[value - 1] if 0 < value <= len(labels) else ""
        return f"{value} – {word}" if word else str(value)
    if question.type in ("single", "multi"):
        options = {o.value: o.label.get(lang) or o.label.get("vi") or o.value for o in question.options}
        values = value if isinstance(value, list | tuple) else [value]
        return "; ".join(options.get(str(v), str(v)) for v in values)
    if question.type == "yesno":
        return gettext("Yes") if value in (True, "yes") else gettext("No")
    return str(value)


def answers_in_words(response: Response, lang: str) -> list[AnswerLine]:
    """Every question of the response's questionnaire version with its answer in words."""
    questionnaire = questionnaire_of(response.version)
    slots = rating_slots(questionnaire)
    lines = []
    for question in questionnaire.all_questions():
        if question.code in slots:
            value = getattr(response, slot_column(slots[question.code]))
        else:
            value = (response.answers or {}).get(question.code)
        text = question.text.get(lang) or question.text.get("vi") or question.code
        answer = None if value is None or value == "" or value == [] else _in_words(question, value,
                                                                                   questionnaire, lang)
        lines.append(AnswerLine(question.code, question.element, text, answer))
    return lines


def recount(response: Response, change) -> None:
    """Take the response out of its report cell, change it, and count it again if it still counts
    (in the caller's transaction): for a change of its cell's key (month, flags) or of voided_at."""
    report_cells.remove_response(response.version_id, response.id)
    change()
    db.session.flush()
    report_cells.add_responses(response.version_id, Response.id == response.id)


def void_response(response: Response, actor: User, reason: str) -> None:
    """Void a response with a reason (audited); it leaves reports, cells and exports. The caller commits."""
    reason = " ".join((reason or "").split())
    if response.voided_at is not None:
        raise ReviewError(Problem("This response is already voided."))
    if not reason:
        raise ReviewError(Problem("Give the reason for voiding this response."))
    if len(reason) > MAX_REASON:
        raise ReviewError(Problem("The reason is too long (at most %(n)s characters).", n=MAX_REASON))

    def change():
        response.voided_at, response.voided_by, response.void_reason = utcnow(), actor.id, reason

    recount(response, change)
    record_event(actor, "response.void", response.uid, reason=reason)


def restore_response(response: Response, actor: User) -> None:
    """Undo a void (administrators only, audited): the response counts again. The caller commits."""
    if actor.role != ADMINISTRATOR:
        raise ReviewError(Problem("Only an administrator may restore a voided response."))
    if response.voided_at is None:
        raise ReviewError(Problem("This response is not voided."))
    reason = response.void_reason

    def change():
        response.voided_at, response.voided_by, response.void_reason = None, None, None

    recount(response, change)
    record_event(actor, "response.restore", response.uid, voided_for=reason)


def confirm_response(response: Response, actor: User) -> None:
    """Confirm a flagged response: no longer suspicious, it counts like any other (audited)."""
    if response.voided_at is not None:
        raise ReviewError(Problem("A voided response cannot be changed."))
    if not response.suspicious:
        raise ReviewError(Problem("This response is not flagged."))
    flags = response.flags

    def change():
        response.suspicious = False

    recount(response, change)
    record_event(actor, "response.confirm", response.uid, flags=flags or "")

