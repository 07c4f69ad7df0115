"""Opening cases: from a citizen's "I want an answer" (with an optional way to reach them), from a rating
at or below the questionnaire version's threshold, or from a response an officer turns into a case."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from analysis.questionnaire import Questionnaire
from app.extensions import db
from app.models import Case, CaseContact, Response, User
from app.models.base import utcnow
from app.services.accounts.audit import record_event
from app.services.cases import outbox
from app.services.cases.sla import due_date, parse_holidays
from app.services.questionnaires.versions import rating_slots

# Crockford's base 32 (no I, L, O, U): 16 characters are 80 random bits, read in groups of four.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
_TYPED = str.maketrans({"I": "1", "L": "1", "O": "0"})
_CODE = re.compile(rf"[{ALPHABET}]{{{CODE_LENGTH}}}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
_PHONE = re.compile(r"(\+84|0)[1-9]\d{8,9}|\+[1-9]\d{7,14}")
MAX_SUMMARY = 2000


def new_code() -> str:
    """A case code: 80 random bits, nothing about the dossier, the counter or the date."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(text: str) -> str | None:
    """The stored form of a code as a citizen may type it (any case, with or without dashes or spaces),
    or None when it cannot be a code."""
    if not text or len(text) > 40:
        return None
    raw = re.sub(r"[\s-]", "", text).upper().translate(_TYPED)
    if not _CODE.fullmatch(raw):
        return None
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


@dataclass
class AnswerRequest:
    """The form's "I want an answer" block: the tick, and a phone number or e-mail address (optional).

    `errors` maps the form field to 'phone' or 'email' when what was typed cannot be used."""

    wanted: bool
    phone: str | None = None
    email: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, wanted: str, phone: str, email: str) -> AnswerRequest:
        """Check the posted values. A phone or e-mail given without the tick counts as a request too."""
        phone, email = (phone or "").strip(), (email or "").strip()
        request = cls(wanted=wanted == "1" or bool(phone or email))
        if phone:
            digits = _PHONE_SEPARATORS.sub("", phone)
            if _PHONE.fullmatch(digits):
                request.phone = digits
            else:
                request.errors["answer_phone"] = "phone"
        if email:
            if len(email) <= 254 and _EMAIL.fullmatch(email):
                request.email = email
            else:
                request.errors["answer_email"] = "email"
        return request


def _setting(name: str, default):
    return current_app.config.get(name, default)


def case_due(opened_at):
    """The due date of a case opened (or reopened) at `opened_at`, from the service-level settings."""
    return due_date(opened_at, int(_setting("CASE_SLA_WORKING_DAYS", 10)), _setting("TIMEZONE", "UTC"),
                    parse_holidays(_setting("CASE_HOLIDAYS", "") or ""))


def low_ratings(questionnaire: Questionnaire, row: dict) -> list[str]:
    """Why a response opens a case by itself: its ratings at or below the version's thresholds."""
    thresholds = questionnaire.cases or {}
    if not thresholds:
        return []
    slots = rating_slots(questionnaire)
    reasons = []
    overall = thresholds.get("overall_at_most")
    if overall is not None and "OVERALL" in slots:
        value = row.get(f"r{slots['OVERALL']}")
        if value is not None and value <= overall:
            reasons.append(f"OVERALL={value}")
    criterion = thresholds.get("any_criterion_at_most")
    if criterion is not None:
        for element in questionnaire.elements:
            for question in element.questions:
                value = row.get(f"r{slots[question.code]}") if question.code in slots else None
                if value is not None and value <= criterion:
                    reasons.append(f"{question.code}={value}")
    return reasons


def _comment_text(questionnaire: Questionnaire, answers: dict) -> str:
    texts = [str(answers[q.code]) for q in questionnaire.all_questions()
             if q.type == "text" and answers.get(q.code)]
    return "\n".join(texts)[:MAX_SUMMARY]


def _new_case(*, agency_id: int, service_point_id: int | None, response_id: int | None, source: str,
              summary: str) -> Case:
    now = utcnow()
    case = Case(code=new_code(), agency_id=agency_id, service_point_id=service_point_id,
                response_id=response_id, source=source, status="new", summary=summary,
                opened_at=now, due_at=case_due(now), updated_at=now)
    db.session.add(case)
    db.session.flush()
    return case


def open_for_response(response_id: int, row: dict, questionnaire: Questionnaire,
                      request: AnswerRequest | None) -> str | None:
    """Open the case a fresh response calls for, in the caller's transaction (the response's own):
    the citizen asked for an answer, or a rating is at or below the version's threshold. Returns the
    case code, or None when no case opens. The handlers' notices are queued in the same transaction."""
    wanted = request is not None and request.wanted and not request.errors
    reasons = low_ratings(questionnaire, row)
    if not wanted and not reasons:
        return None
    comment = _comment_text(questionnaire, row.get("answers") or {})
    summary = "\n".join(part for part in (comment, ", ".join(reasons)) if part)
    case = _new_case(agency_id=row["agency_id"], service_point_id=row["service_point_id"],
                     response_id=response_id, source="request" if wanted else "rating", summary=summary)
    if wanted and (request.phone or request.email):
        db.session.add(CaseContact(case_id=case.id, phone=request.phone, email=request.email,
                                   consented_at=case.opened_at))
    record_event(None, "case.open", case.code, anonymous=True, source=case.source,
                 reasons=reasons, contact=bool(wanted and (request.phone or request.email)))
    outbox.notify_opened(case)
    return case.code


class OpenError(ValueError):
    """A response cannot be turned into a case (it has one, or is not in the officer's scope)."""


def open_from_response(response_uid: str, actor: User) -> Case:
    """An officer turns a response (a comment) into a case of the response's agency (caller commits)."""
    from app.services.registry.scope import visible_agency_ids

    visible = visible_agency_ids(actor)
    response = db.session.scalar(select(Response).where(Response.uid == response_uid))
    if response is None or (visible is not None and response.agency_id not in visible):
        raise OpenError("no such response in your agencies")
    existing = db.session.scalar(select(Case.code).where(Case.response_id == response.id))
    if existing is not None:
        raise OpenError(f"this response already has case {existing}")
    questionnaire = questionnaire_of(response)
    summary = _comment_text(questionnaire, response.answers or {}) if questionnaire else ""
    case = _new_case(agency_id=response.agency_id, service_point_id=response.service_point_id,
                     response_id=response.id, source="comment", summary=summary)
    record_event(actor, "case.open", case.code, source="comment", response=response.uid)
    outbox.notify_opened(case)
    return case


def questionnaire_of(response: Response) -> Questionnaire | None:
    """The parsed questionnaire version a response answered (cached per process)."""
    from app.services.collect.submit import published_version

    version = published_version(response.version_id)
    return version.questionnaire if version else None


def case_code_for_nonce(nonce: str) -> str | None:
    """The code of the case a just-stored form opened (the thank-you page shows it), or None."""
    if not nonce or len(nonce) > 64:
        return None
    return db.session.scalar(
        select(Case.code).join(Response, Response.id == Case.response_id).where(Response.nonce == nonce))


def case_code_for_dossier(dossier_key: str | None) -> str | None:
    """The code of the case a receipt's dossier opened (a rated receipt leads to it), or None."""
    if not dossier_key:
        return None
    return db.session.scalar(
        select(Case.code).join(Response, Response.id == Case.response_id)
        .where(Response.dossier_key == dossier_key))
