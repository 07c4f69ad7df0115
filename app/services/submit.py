"""Citizen submissions: which questionnaire a counter shows, answer checks, storing exactly once."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from analysis.questionnaire import Question, Questionnaire
from app.extensions import db
from app.models import QuestionnaireVersion, Response, ServicePoint, slot_column
from app.models.base import utcnow
from app.services import report_cells
from app.services.abuse import suspicion_flags
from app.services.questionnaires import questionnaire_of, rating_slots
from app.services.receipts import Receipt

NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_TEXT = 2000
# A kiosk that was offline reports when each answer was given; older than this is not believed.
MAX_QUEUE_AGE = timedelta(days=14)


def new_nonce() -> str:
    """A fresh per-form nonce (128 bits): resubmitting the same form hits its unique key."""
    return secrets.token_urlsafe(16)


def published_version_for(counter: ServicePoint) -> QuestionnaireVersion | None:
    """The latest published version of the counter's questionnaire, or None."""
    if counter.questionnaire_id is None:
        return None
    return db.session.scalar(
        select(QuestionnaireVersion)
        .where(
            QuestionnaireVersion.questionnaire_id == counter.questionnaire_id,
            QuestionnaireVersion.status == "published",
        )
        .order_by(QuestionnaireVersion.version.desc())
        .limit(1)
    )


def shown_version(counter: ServicePoint, version_id: str) -> QuestionnaireVersion | None:
    """The exact version a form showed, if it is a published version of the counter's questionnaire."""
    if not version_id.isdigit() or counter.questionnaire_id is None:
        return None
    version = db.session.get(QuestionnaireVersion, int(version_id))
    if version is None or version.status != "published":
        return None
    return version if version.questionnaire_id == counter.questionnaire_id else None


@dataclass
class ParsedAnswers:
    """Answers checked against a questionnaire: rating slots, other answers, errors by code."""

    ratings: dict[str, int] = field(default_factory=dict)
    answers: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _cell(question: Question, values: list[str]) -> str:
    if question.type == "multi":
        return ";".join(v for v in values if v)
    if len(values) > 1:
        return "\x00"  # two values for a one-value question: never valid
    text = values[0] if values else ""
    return text.strip()


def parse_answers(questionnaire: Questionnaire, raw: Mapping[str, list[str]]) -> ParsedAnswers:
    """Check raw form values (question code -> values) the way the CSV import does.

    Error codes are 'required', 'invalid' and 'too_long'; the page words them.
    """
    slots = rating_slots(questionnaire)
    parsed = ParsedAnswers()
    for question in questionnaire.all_questions():
        cell = _cell(question, raw.get(question.code, []))
        if len(cell) > MAX_TEXT:
            parsed.errors[question.code] = "too_long"
            continue
        try:
            value = question.parse_answer(cell, questionnaire.scale)
        except ValueError:
            parsed.errors[question.code] = "invalid"
            continue
        if value is None:
            if question.required:
                parsed.errors[question.code] = "required"
        elif question.code in slots:
            parsed.ratings[slot_column(slots[question.code])] = value
        else:
            parsed.answers[question.code] = list(value) if isinstance(value, tuple) else value
    return parsed


@dataclass
class Submission:
    """One posted form, already read from the request by the view."""

    counter: ServicePoint
    channel: str
    version_id: str
    nonce: str
    service: str
    answers: Mapping[str, list[str]]
    honeypot_filled: bool = False
    client_hash: str | None = None
    receipt: Receipt | None = None
    answered_at: datetime | None = None


@dataclass
class Outcome:
    """What happened to a submission.

    status: 'stored' (committed now), 'duplicate' (this nonce was stored before),
    'invalid' (see errors), 'outdated' (the version shown is no longer valid),
    'dossier_rated' (the receipt's dossier already has a response).
    """

    status: str
    errors: dict[str, str] = field(default_factory=dict)
    version: QuestionnaireVersion | None = None
    response_id: int | None = None

    @property
    def thanked(self) -> bool:
        """Whether a committed response stands behind this submission."""
        return self.status in ("stored", "duplicate")


def response_stored(nonce: str) -> bool:
    """Whether a response with this form nonce is committed."""
    return bool(nonce) and db.session.scalar(
        select(Response.id).where(Response.nonce == nonce)
    ) is not None


def _dossier_taken(receipt: Receipt | None) -> bool:
    return receipt is not None and db.session.scalar(
        select(Response.id).where(Response.dossier_key == receipt.dossier_key)
    ) is not None


def _service_id(counter: ServicePoint, value: str) -> tuple[int | None, bool]:
    """The chosen service's id (None when not given) and whether the choice is valid."""
    if not value:
        return None, True
    offered = {str(s.id): s.id for s in counter.services}
    return offered.get(value), value in offered


def _answered_at(value: datetime | None, now: datetime) -> datetime:
    if value is None or value > now or value < now - MAX_QUEUE_AGE:
        return now
    return value


def _check(sub: Submission) -> tuple[Outcome | None, ParsedAnswers | None, int | None]:
    version = shown_version(sub.counter, sub.version_id)
    if version is None:
        return Outcome("outdated"), None, None
    if not NONCE.fullmatch(sub.nonce):
        return Outcome("outdated", version=version), None, None
    parsed = parse_answers(questionnaire_of(version), sub.answers)
    service_id, service_ok = _service_id(sub.counter, sub.service)
    if not service_ok:
        parsed.errors["service"] = "invalid"
    if parsed.errors:
        return Outcome("invalid", parsed.errors, version), None, None
    return None, parsed, service_id


def counter_week_psu(counter: ServicePoint, when: datetime, tz_name: str) -> str:
    """The cluster of a self-selected response: its counter and local ISO week.

    Answers from one counter in one week share staff, queue and conditions, so
    they are not independent; treating the counter-week as the PSU (and the agency
    as the stratum) gives standard errors that reflect that, instead of pretending
    every QR answer is an independent draw (docs/METHODOLOGY.md).
    """
    year, week, _ = when.astimezone(ZoneInfo(tz_name)).isocalendar()
    return f"{counter.code}/{year}-W{week:02d}"


def _build(sub: Submission, parsed: ParsedAnswers, service_id: int | None, version_id: int) -> Response:
    now = utcnow()
    submitted_at = _answered_at(sub.answered_at, now)
    response = Response(
        uid=uuid.uuid4().hex,
        nonce=sub.nonce,
        dossier_key=sub.receipt.dossier_key if sub.receipt else None,
        version_id=version_id,
        agency_id=sub.counter.agency_id,
        service_point_id=sub.counter.id,
        service_id=service_id,
        channel=sub.channel,
        submitted_at=submitted_at,
        received_at=now,
        stratum=sub.counter.agency.code,
        psu=counter_week_psu(sub.counter, submitted_at, current_app.config["TIMEZONE"]),
        weight=None,
        verified=sub.receipt is not None,
        client_hash=sub.client_hash,
        answers=parsed.answers,
        **parsed.ratings,
    )
    flags = suspicion_flags(response, sub.honeypot_filled)
    response.suspicious = bool(flags)
    response.flags = ",".join(flags) or None
    return response


def submit_response(sub: Submission) -> Outcome:
    """Validate a submission against the version shown and store it once, in one transaction."""
    if response_stored(sub.nonce):
        return Outcome("duplicate")
    failed, parsed, service_id = _check(sub)
    if failed is not None:
        return failed
    if _dossier_taken(sub.receipt):
        return Outcome("dossier_rated")
    response = _build(sub, parsed, service_id, int(sub.version_id))
    db.session.add(response)
    try:
        db.session.flush()
        # Read the id before commit: afterwards it would reload the whole row.
        response_id = response.id
        # The reports' cells count it in the same transaction (app.services.report_cells).
        report_cells.add_response(response.version_id, response_id)
        db.session.commit()
    except IntegrityError:
        # A concurrent twin won the race on the nonce or the dossier key.
        db.session.rollback()
        if response_stored(sub.nonce):
            return Outcome("duplicate")
        if _dossier_taken(sub.receipt):
            return Outcome("dossier_rated")
        raise
    return Outcome("stored", response_id=response_id)
