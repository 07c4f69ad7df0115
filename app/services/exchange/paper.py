"""Responses from the browser: the CSV import limited to the uploader's agencies, and paper forms."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from analysis.questionnaire import Questionnaire
from app.extensions import db
from app.models import Agency, Response, ServicePoint, User
from app.models.response import INTERVIEW_MODES
from app.services.accounts.audit import record_event
from app.services.collect.counter import counter_by_id
from app.services.collect.submit import Outcome, Submission, new_nonce, submit_response
from app.services.exchange.problems import Problem
from app.services.exchange.responses_csv import ImportReport, import_responses, interview_instant
from app.services.exchange.review import recount
from app.services.registry.scope import visible_agency_ids
from app.services.reports.aggregates import report_timezone


def _scope_errors(text: str, source: str, visible: set[int], report: ImportReport) -> None:
    codes = dict(db.session.execute(select(Agency.code, Agency.id)).all())
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip() for name in next(reader, [])]
    if "agency" not in header:
        return  # import_responses reports the missing column
    column = header.index("agency")
    for number, cells in enumerate(reader, start=2):
        code = cells[column] if column < len(cells) else ""
        if code in codes and codes[code] not in visible:
            report.add(Problem("%(code)s is outside your agencies", source=source, row=number,
                               column="agency", code=repr(code)))


def import_responses_for(stream: io.TextIOBase, source: str, actor: User) -> ImportReport:
    """The FORMATS.md §2 import, refusing rows about agencies outside the actor's scope. All or nothing."""
    text = stream.read()
    visible = visible_agency_ids(actor)
    if visible is not None:
        report = ImportReport()
        try:
            _scope_errors(text, source, visible, report)
        except csv.Error as exc:
            report.add(Problem("cannot read CSV: %(reason)s", source=source, reason=str(exc)))
        if not report.ok:
            return report
    report = import_responses(io.StringIO(text, newline=""), source)
    if report.ok:
        record_event(actor, "responses.import", source, rows=report.stored)
    return report


YESNO_KEYS = {"y": "yes", "c": "yes", "n": "no", "k": "no", "1": "yes", "0": "no"}


def _normalise(question, text: str) -> list[str]:
    """Staff type short forms on paper entry: y/n (or c/k: có/không) for yes/no."""
    text = text.strip()
    if question.type == "yesno":
        text = YESNO_KEYS.get(text.lower(), text)
    return [text]


@dataclass(frozen=True)
class Interview:
    """When, by whom and how a paper questionnaire was filled in (issue 17)."""

    day: date | None = None
    enumerator: str = ""
    mode: str = ""


def parse_interview(day_text: str, enumerator: str, mode: str,
                    today: date | None = None) -> tuple[Interview, dict[str, Problem]]:
    """The paper form's interview fields, and an error per bad field (keyed by field name)."""
    errors: dict[str, Problem] = {}
    day = None
    day_text = (day_text or "").strip()
    if day_text:
        today = today or date.today()
        try:
            day = date.fromisoformat(day_text)
            if len(day_text) != 10 or not date(2000, 1, 1) <= day <= today + timedelta(days=1):
                raise ValueError
        except ValueError:
            day = None
            errors["interview_date"] = Problem("Give a day from 2000 to today, like 2025-06-30.")
    enumerator = " ".join((enumerator or "").split())
    if len(enumerator) > 64:
        errors["enumerator"] = Problem("At most %(n)s characters.", n=64)
    mode = (mode or "").strip()
    if mode and mode not in INTERVIEW_MODES:
        errors["interview_mode"] = Problem("Choose one of the listed ways.")
    return Interview(day, enumerator, mode), errors


def _stamp_interview(response_id: int, interview: Interview) -> None:
    """Date the stored response at the interview's day (its report cell follows) and keep who and how."""
    response = db.session.get(Response, response_id)

    def change():
        response.enumerator = interview.enumerator or None
        response.interview_mode = interview.mode or None
        if interview.day is not None:
            response.interview_date = interview.day
            response.submitted_at = interview_instant(interview.day, ZoneInfo(report_timezone()))

    recount(response, change)


def submit_paper(counter: ServicePoint, version_id: int, questionnaire: Questionnaire,
                 fields: dict[str, str], nonce: str, service: str, actor: User,
                 interview: Interview | None = None) -> Outcome:
    """Store one paper questionnaire typed in by staff (channel `paper`); commits when stored.

    With an interview day, the response is dated at that day (noon, TIMEZONE) instead of the time
    it was typed in, so that the reports count it in the month the citizen answered."""
    answers = {q.code: _normalise(q, fields.get(q.code, "")) for q in questionnaire.all_questions()}
    plain = counter_by_id(counter.id, with_services=True)
    if plain is None:  # deactivated since the page was drawn
        return Outcome("outdated")
    outcome = submit_response(Submission(
        counter=plain, channel="paper", version_id=str(version_id), nonce=nonce, service=service,
        answers=answers,
    ))
    if outcome.status == "stored":
        if interview is not None and (interview.day or interview.enumerator or interview.mode):
            _stamp_interview(outcome.response_id, interview)
        record_event(actor, "responses.paper", counter.code, response=outcome.response_id)
        db.session.commit()
    return outcome


__all__ = ["Interview", "import_responses_for", "new_nonce", "parse_interview", "submit_paper"]
