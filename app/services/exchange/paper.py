"""Responses from the browser: the CSV import limited to the uploader's agencies, and paper forms."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from analysis.questionnaire import Questionnaire
from app.extensions import db
from app.models import Agency, ServicePoint, User
from app.services.accounts.audit import record_event
from app.services.collect.counter import counter_by_id
from app.services.collect.submit import Outcome, Submission, new_nonce, submit_response
from app.services.exchange.problems import Problem
from app.services.exchange.responses_csv import ImportReport, import_responses
from app.services.registry.scope import visible_agency_ids


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


def submit_paper(counter: ServicePoint, version_id: int, questionnaire: Questionnaire,
                 fields: dict[str, str], nonce: str, service: str, actor: User) -> Outcome:
    """Store one paper questionnaire typed in by staff (channel `paper`); commits when stored."""
    answers = {q.code: _normalise(q, fields.get(q.code, "")) for q in questionnaire.all_questions()}
    plain = counter_by_id(counter.id, with_services=True)
    if plain is None:  # deactivated since the page was drawn
        return Outcome("outdated")
    outcome = submit_response(Submission(
        counter=plain, channel="paper", version_id=str(version_id), nonce=nonce, service=service,
        answers=answers,
    ))
    if outcome.status == "stored":
        record_event(actor, "responses.paper", counter.code, response=outcome.response_id)
        db.session.commit()
    return outcome


__all__ = ["import_responses_for", "new_nonce", "submit_paper"]
