"""Citizen submissions: which questionnaire a counter shows, answer checks, storing exactly once."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import URL, select
from sqlalchemy.exc import IntegrityError

from analysis.questionnaire import Question, Questionnaire, parse_questionnaire
from app.extensions import db
from app.inputs import id_number
from app.models import RATING_SLOTS, QuestionnaireVersion, Response, ServicePoint, slot_column
from app.models.base import utcnow
from app.models.org import service_point_service
from app.services.cases import intake as cases_intake
from app.services.collect.abuse import ClientHistory, suspicion_flags
from app.services.collect.counter import Counter
from app.services.collect.quick import waived_requirements
from app.services.collect.receipts import Receipt
from app.services.questionnaires.versions import rating_slots
from app.services.reports import cells as report_cells

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


@dataclass(frozen=True)
class PublishedVersion:
    """A published questionnaire version, parsed. Published versions never change (the model
    refuses it and only drafts can be deleted), so each process keeps them by id."""

    id: int
    questionnaire_id: int
    version: int
    questionnaire: Questionnaire


def _version_cache() -> dict[int, PublishedVersion]:
    # Per app, not per module: each app (each test) may sit on another database.
    return current_app.extensions.setdefault("sipas.published_versions", {})


def published_version(version_id: int) -> PublishedVersion | None:
    """A published version by id, parsed, from the process's cache or else the database."""
    cache = _version_cache()
    found = cache.get(version_id)
    if found is not None:
        return found
    row = db.session.execute(
        select(QuestionnaireVersion.questionnaire_id, QuestionnaireVersion.version,
               QuestionnaireVersion.definition)
        .where(QuestionnaireVersion.id == version_id, QuestionnaireVersion.status == "published")
    ).first()
    if row is None:
        return None
    found = PublishedVersion(version_id, row.questionnaire_id, row.version,
                             parse_questionnaire(row.definition, source="stored version"))
    if len(cache) > 1000:  # never reached in practice; a bound all the same
        cache.clear()
    cache[version_id] = found
    return found


def latest_published_version(counter: Counter) -> PublishedVersion | None:
    """The latest published version of the counter's questionnaire (the one a new form shows)."""
    if counter.questionnaire_id is None:
        return None
    version_id = db.session.scalar(
        select(QuestionnaireVersion.id)
        .where(
            QuestionnaireVersion.questionnaire_id == counter.questionnaire_id,
            QuestionnaireVersion.status == "published",
        )
        .order_by(QuestionnaireVersion.version.desc())
        .limit(1)
    )
    return None if version_id is None else published_version(version_id)


def shown_version(counter: Counter, version_id: str) -> PublishedVersion | None:
    """The exact version a form showed, if it is a published version of the counter's questionnaire."""
    number = id_number(version_id)
    if number is None or counter.questionnaire_id is None:
        return None
    version = published_version(number)
    if version is None or version.questionnaire_id != counter.questionnaire_id:
        return None
    return version


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


def parse_answers(questionnaire: Questionnaire, raw: Mapping[str, list[str]],
                  waive_required: bool = False) -> ParsedAnswers:
    """Check raw form values (question code -> values) the way the CSV import does.

    Error codes are 'required', 'invalid' and 'too_long'; the page words them. With waive_required
    (a quick rating whose overall item is answered, app.services.collect.quick) nothing else is required.
    A question whose `show_if` is not met (skip logic) is not applicable: whatever was sent for it is
    dropped (a form without JavaScript shows it), and it is never required.
    """
    slots = rating_slots(questionnaire)
    parsed = ParsedAnswers()
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for question in questionnaire.all_questions():
        cell = _cell(question, raw.get(question.code, []))
        if len(cell) > MAX_TEXT:
            errors[question.code] = "too_long"
            continue
        try:
            values[question.code] = question.parse_answer(cell, questionnaire.scale)
        except ValueError:
            errors[question.code] = "invalid"
    skipped = questionnaire.skipped(values) if questionnaire.has_conditions() else frozenset()
    for question in questionnaire.all_questions():
        code = question.code
        if code in skipped:
            continue
        if code in errors:
            parsed.errors[code] = errors[code]
            continue
        value = values[code]
        if value is None:
            if question.required and not waive_required:
                parsed.errors[code] = "required"
        elif code in slots:
            parsed.ratings[slot_column(slots[code])] = value
        else:
            parsed.answers[code] = list(value) if isinstance(value, tuple) else value
    return parsed


@dataclass
class Submission:
    """One posted form, already read from the request by the view."""

    counter: Counter
    channel: str
    version_id: str
    nonce: str
    service: str
    answers: Mapping[str, list[str]]
    honeypot_filled: bool = False
    client_hash: str | None = None
    receipt: Receipt | None = None
    # The citizen ticked "an officer helped me fill this in" (or the kiosk's officer did; issue 16).
    assisted: bool = False
    # When the answers count as given (see submission_time); now when None.
    submitted_at: datetime | None = None
    # The client's recent responses when already read (app.services.collect.abuse); else read on storing.
    history: ClientHistory | None = None
    # The "I want an answer" block (issue 18, app.services.cases); None when the form had none.
    answer_request: cases_intake.AnswerRequest | None = None


@dataclass
class Outcome:
    """What happened to a submission.

    status: 'stored' (committed now), 'duplicate' (this nonce was stored before),
    'invalid' (see errors), 'outdated' (the version shown is no longer valid),
    'dossier_rated' (the receipt's dossier already has a response).
    """

    status: str
    errors: dict[str, str] = field(default_factory=dict)
    version: PublishedVersion | None = None
    response_id: int | None = None
    # The code of the case this response opened (issue 18), or None.
    case_code: str | None = None

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


def _service_id(counter: Counter, value: str) -> tuple[int | None, bool]:
    """The chosen service's id (None when not given) and whether the choice is valid."""
    if not value:
        return None, True
    if counter.posted_service == value:
        # Checked in the query that read the counter.
        return counter.posted_service_id, counter.posted_service_id is not None
    if counter.services:  # already read (paper entry): no query
        offered = {str(s.id): s.id for s in counter.services}
        return offered.get(value), value in offered
    number = id_number(value)
    if number is None:
        return None, False
    offered = db.session.scalar(
        select(service_point_service.c.service_id).where(
            service_point_service.c.service_point_id == counter.id,
            service_point_service.c.service_id == number,
        )
    )
    return offered, offered is not None


def submission_time(answered_at: datetime | None) -> datetime:
    """When a submission counts as given: when a kiosk queued it (answered_at) if that is believable,
    else now."""
    now = utcnow()
    if answered_at is None or answered_at > now or answered_at < now - MAX_QUEUE_AGE:
        return now
    return answered_at


def _check(sub: Submission) -> tuple[Outcome | None, ParsedAnswers | None, int | None]:
    version = shown_version(sub.counter, sub.version_id)
    if version is None:
        return Outcome("outdated"), None, None
    if not NONCE.fullmatch(sub.nonce):
        return Outcome("outdated", version=version), None, None
    parsed = parse_answers(version.questionnaire, sub.answers,
                           waived_requirements(version.questionnaire, sub.channel, sub.answers))
    service_id, service_ok = _service_id(sub.counter, sub.service)
    if not service_ok:
        parsed.errors["service"] = "invalid"
    if sub.answer_request is not None:
        parsed.errors.update(sub.answer_request.errors)
    if parsed.errors:
        return Outcome("invalid", parsed.errors, version), None, None
    return None, parsed, service_id


def counter_week_psu(counter: Counter, when: datetime, tz_name: str) -> str:
    """The cluster of a self-selected response: its counter and local ISO week.

    Answers from one counter in one week share staff, queue and conditions, so
    they are not independent; treating the counter-week as the PSU (and the agency
    as the stratum) gives standard errors that reflect that, instead of pretending
    every QR answer is an independent draw (docs/METHODOLOGY.md).
    """
    year, week, _ = when.astimezone(ZoneInfo(tz_name)).isocalendar()
    return f"{counter.code}/{year}-W{week:02d}"


# Every rating slot in every row, so the insert compiles to one statement whatever was answered.
_NO_RATINGS = {slot_column(slot): None for slot in range(1, RATING_SLOTS + 1)}


def _row(sub: Submission, parsed: ParsedAnswers, service_id: int | None, version_id: int) -> dict:
    """The response's column values, with its suspicion flags."""
    now = utcnow()
    submitted_at = sub.submitted_at or now
    row = {
        "uid": uuid.uuid4().hex,
        "nonce": sub.nonce,
        "dossier_key": sub.receipt.dossier_key if sub.receipt else None,
        "version_id": version_id,
        "agency_id": sub.counter.agency_id,
        "service_point_id": sub.counter.id,
        "service_id": service_id,
        "channel": sub.channel,
        "submitted_at": submitted_at,
        "received_at": now,
        "stratum": sub.counter.agency.code,
        "psu": counter_week_psu(sub.counter, submitted_at, current_app.config["TIMEZONE"]),
        "weight": None,
        "verified": sub.receipt is not None,
        "assisted": sub.assisted,
        "client_hash": sub.client_hash,
        "answers": parsed.answers,
        **_NO_RATINGS,
        **parsed.ratings,
    }
    flags = suspicion_flags(SimpleNamespace(**row), sub.honeypot_filled, sub.history)
    row["suspicious"] = bool(flags)
    row["flags"] = ",".join(flags) or None
    return row


_TURN_LOCK = threading.Lock()
_TURN_FILES: dict[str, tuple[int, int]] = {}  # lock file path -> (pid, descriptor)


def _turn_file(path: str) -> int:
    pid = os.getpid()
    opened = _TURN_FILES.get(path)
    if opened is None or opened[0] != pid:  # not this process's: gunicorn forked after preloading
        opened = (pid, os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        _TURN_FILES[path] = opened
    return opened[1]


def sqlite_file(url: URL) -> str | None:
    """The file of a SQLite database URL, or None (another database, or one in memory).

    The URL may name the file as a URI (`sqlite:///file:/srv/sipas.db?mode=rwc&uri=true`), where
    the driver reads `file:` and the URI's query; the file is the URI's path.
    """
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    database = url.database
    if str(url.query.get("uri", "")).lower() in ("true", "1") and database.startswith("file:"):
        parsed = urlsplit(database)  # SQLAlchemy keeps the URI's query (mode=...) in url.query
        if url.query.get("mode") == "memory" or parsed.path in ("", ":memory:"):
            return None
        return unquote(parsed.path)
    return database


@contextlib.contextmanager
def _write_turn() -> Iterator[None]:
    """On SQLite, let citizens' writes take turns in a queue rather than in SQLite's busy loop.

    SQLite has one writer at a time; a writer that finds the lock taken sleeps
    and retries (1, 2, 5 … 100 ms), so under load most of a submission's time
    was spent asleep while the lock stood free, and the unlucky ones waited
    seconds. Here the threads of a process queue on a lock, and the processes
    on an flock(2) of a file next to the database, which the kernel hands to
    the next waiter as soon as it is released. Only the insert and the commit
    are inside; SQLite still does its own locking, so other writers (imports,
    the admin) are safe. PostgreSQL locks rows, and needs none of this.
    """
    path = sqlite_file(db.engine.url)
    if path is None:
        yield
        return
    with _TURN_LOCK:
        try:
            descriptor = _turn_file(f"{path}.writers")
        except OSError:
            # No lock file beside the database (a read-only folder): the threads still take turns,
            # and SQLite's own locking keeps the processes apart.
            descriptor = None
        if descriptor is None:
            yield
            return
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)


def submit_response(sub: Submission) -> Outcome:
    """Validate a submission against the version shown and store it once, in one transaction.

    The form's nonce is a unique key: a form sent again (or twice at once) fails the
    insert, which is then reported as the duplicate it is. No query looks for the
    nonce beforehand; only the rare unsuccessful outcomes check whether the form
    was stored already (a resend is thanked even if its version has since changed).
    """
    failed, parsed, service_id = _check(sub)
    if failed is None and _dossier_taken(sub.receipt):
        failed = Outcome("dossier_rated")
    if failed is not None:
        return Outcome("duplicate") if response_stored(sub.nonce) else failed
    row = _row(sub, parsed, service_id, int(sub.version_id))
    conflict = None
    with _write_turn():
        try:
            # The reports' cells count it in the same transaction (app.services.reports.cells).
            response_id = report_cells.insert_counted(row["version_id"], row)
            # A case (issue 18) opens in the same transaction, or not at all.
            case_code = cases_intake.open_for_response(
                response_id, row, published_version(row["version_id"]).questionnaire, sub.answer_request)
            db.session.commit()
        except IntegrityError as exc:
            db.session.rollback()
            conflict = exc
        except BaseException:
            db.session.rollback()  # leave SQLite's lock before the turn ends
            raise
    if conflict is not None:
        # This nonce was stored before (a resend, or a concurrent twin won the race),
        # or the dossier key was taken meanwhile.
        if response_stored(sub.nonce):
            return Outcome("duplicate")
        if _dossier_taken(sub.receipt):
            return Outcome("dossier_rated")
        raise conflict
    return Outcome("stored", response_id=response_id, case_code=case_code)
