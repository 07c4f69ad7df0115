"""Reading and drawing the survey form; the views stay a few lines each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import g, make_response, render_template, request, url_for

from analysis.questionnaire import Questionnaire
from app.models import QuestionnaireVersion, ServicePoint
from app.public.forms import HONEYPOT, error_message, read_answers, survey_sections
from app.services.abuse import client_hash
from app.services.questionnaires import questionnaire_of
from app.services.receipts import Receipt
from app.services.submit import Outcome, Submission, new_nonce, published_version_for, shown_version

# Long forms get a progress bar; the short form fits on one or two screens.
PROGRESS_FROM = 8


@dataclass(frozen=True)
class SurveyContext:
    """What a citizen is rating: the counter, the version shown, through which channel."""

    counter: ServicePoint
    version: QuestionnaireVersion
    questionnaire: Questionnaire
    channel: str
    receipt: Receipt | None = None


def survey_context(counter: ServicePoint, channel: str, receipt: Receipt | None = None):
    """The counter's survey, or None when it has no published questionnaire."""
    version = None
    if request.method == "POST":
        # Validate against the exact version the form showed, if still valid.
        version = shown_version(counter, request.form.get("version_id", ""))
    version = version or published_version_for(counter)
    if version is None:
        return None
    return SurveyContext(counter, version, questionnaire_of(version), channel, receipt)


def _action(context: SurveyContext) -> str:
    if context.receipt is not None:
        return request.path
    endpoint = "public.kiosk" if context.channel == "kiosk" else "public.survey"
    return url_for(endpoint, token=context.counter.qr_token)


def _answered_at() -> datetime | None:
    """When a kiosk queued the answers (milliseconds since 1970, set by its script)."""
    text = request.form.get("answered_at", "")
    if not text.isdigit() or len(text) > 15:
        return None
    return datetime.fromtimestamp(int(text) / 1000, UTC)


def parse_submission(context: SurveyContext) -> Submission:
    """Read the posted form into a Submission for the submit service."""
    return Submission(
        counter=context.counter,
        channel=context.channel,
        version_id=request.form.get("version_id", ""),
        nonce=request.form.get("nonce", ""),
        service=request.form.get("service", "").strip(),
        answers=read_answers(context.questionnaire),
        honeypot_filled=bool(request.form.get(HONEYPOT, "").strip()),
        client_hash=client_hash(request.remote_addr),
        receipt=context.receipt,
        answered_at=_answered_at() if context.channel == "kiosk" else None,
    )


def render_survey(context: SurveyContext, outcome: Outcome | None = None, notice: str | None = None,
                  status: int | None = None):
    """Draw the form: empty, or again with the citizen's answers and the errors found."""
    lang = g.get("lang", "vi")
    sections = survey_sections(context.questionnaire, lang)
    questions = {q.code: q for s in sections for q in s.questions}
    errors = {}
    if outcome is not None:
        notice = notice or ("outdated" if outcome.status == "outdated" else None)
        errors = {code: error_message(kind, questions.get(code)) for code, kind in outcome.errors.items()}
    posted = request.method == "POST"
    template = "kiosk/survey.html" if context.channel == "kiosk" else "public/survey.html"
    page = render_template(
        template,
        counter=context.counter,
        agency=context.counter.agency,
        title=context.questionnaire.title.get(lang) or context.questionnaire.title.get("vi", ""),
        sections=sections,
        total=len(questions),
        show_progress=len(questions) >= PROGRESS_FROM,
        services=context.counter.services,
        version=context.version,
        nonce=new_nonce() if notice == "outdated" or not posted else request.form.get("nonce", ""),
        action=_action(context),
        values={q.field: request.form.getlist(q.field) for q in questions.values()} if posted else {},
        service_value=request.form.get("service", "") if posted else "",
        errors=errors,
        notice=notice,
        verified=context.receipt is not None,
    )
    if status is None:
        status = 422 if outcome is not None else 200
    return make_response(page, status)


def counter_not_found():
    """A friendly page, in both languages, for an unknown or retired QR code."""
    return make_response(render_template("public/not_found.html"), 404)


def no_questionnaire(counter: ServicePoint, channel: str):
    """A clear message when a counter collects no ratings right now."""
    return make_response(render_template("public/landing.html", counter=counter, kiosk=channel == "kiosk"))
