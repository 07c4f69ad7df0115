"""Reading and drawing the survey form; the views stay a few lines each."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from flask import current_app, g, make_response, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import escape

from analysis.questionnaire import Questionnaire
from app.inputs import whole_number
from app.public.cases import read_answer_request
from app.public.citizen import ASSISTED, form_extras
from app.services.collect import (
    ClientHistory,
    ClientVisit,
    Counter,
    Named,
    Outcome,
    PublishedVersion,
    Receipt,
    Submission,
    client_hash,
    latest_published_version,
    new_nonce,
    shown_version,
    submission_time,
)
from app.web.survey_form import HONEYPOT, error_message, read_answers, survey_sections

# Long forms get a progress bar; the short form fits on one or two screens.
PROGRESS_FROM = 8


@dataclass(frozen=True)
class SurveyContext:
    """What a citizen is rating: the counter, the version shown, through which channel."""

    counter: Counter
    version: PublishedVersion
    questionnaire: Questionnaire
    channel: str
    receipt: Receipt | None = None


def survey_context(counter: Counter, channel: str, receipt: Receipt | None = None):
    """The counter's survey, or None when it has no published questionnaire.

    Published versions are immutable and kept parsed per process
    (app.services.collect.submit.published_version): a post checks the version it showed
    without a query.
    """
    version = None
    if request.method == "POST":
        # Validate against the exact version the form showed, if still valid.
        version = shown_version(counter, request.form.get("version_id", ""))
    version = version or latest_published_version(counter)
    if version is None:
        return None
    context = SurveyContext(counter, version, version.questionnaire, channel, receipt)
    _remember_form(context)
    return context


def _forms() -> dict[str, SurveyContext]:
    # Per app, like the published versions: each app (each test) may sit on another database.
    return current_app.extensions.setdefault("sipas.forms", {})


def _remember_form(context: SurveyContext) -> None:
    """Keep the form of this address (a GET's, or a post's when none is kept), so that it can be drawn
    again without the database: during an outage, or for a post whose CSRF session expired."""
    forms = _forms()
    if request.method == "GET" or request.path not in forms:
        if len(forms) > 10_000:
            forms.clear()
        forms[request.path] = context


def remembered_form() -> SurveyContext | None:
    """The form last drawn at this address in this process, ready to draw again (no query), or None."""
    context = _forms().get(request.path)
    return None if context is None else detached(context)


def resend_page(notice: str, status: int):
    """The answers of a post whose form cannot be drawn now, as they came (same nonce, a fresh CSRF
    token), behind one button that sends them again; no query."""
    fields = [(name, value) for name, value in request.form.items(multi=True) if name != "csrf_token"]
    return make_response(render_template("public/resend.html", fields=fields, action=request.path,
                                         notice=notice), status)


def _action(context: SurveyContext) -> str:
    if context.receipt is not None:
        return request.path
    endpoint = "public.kiosk" if context.channel == "kiosk" else "public.survey"
    return url_for(endpoint, token=context.counter.qr_token)


def _answered_at() -> datetime | None:
    """When a kiosk queued the answers (milliseconds since 1970, set by its script)."""
    millis = whole_number(request.form.get("answered_at", ""), 0, 10**15)
    return None if millis is None else datetime.fromtimestamp(millis / 1000, UTC)


def posting_visit(channel: str) -> ClientVisit:
    """Who posts this form (a salted hash of the address) and when its answers count as given."""
    return ClientVisit(client_hash(request.remote_addr), channel,
                       submission_time(_answered_at() if channel == "kiosk" else None))


def parse_submission(context: SurveyContext, visit: ClientVisit | None = None,
                     history: ClientHistory | None = None) -> Submission:
    """Read the posted form into a Submission for the submit service (with the visit's client
    history when it was read already)."""
    visit = visit or posting_visit(context.channel)
    return Submission(
        counter=context.counter,
        channel=context.channel,
        version_id=request.form.get("version_id", ""),
        nonce=request.form.get("nonce", ""),
        service=request.form.get("service", "").strip(),
        answers=read_answers(context.questionnaire),
        honeypot_filled=bool(request.form.get(HONEYPOT, "").strip()),
        client_hash=visit.client,
        receipt=context.receipt,
        assisted=request.form.get(ASSISTED) == "1",
        submitted_at=visit.at,
        history=history,
        answer_request=read_answer_request(context.channel),
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
    services = context.counter.services
    _remember_services(context.counter)
    template = "kiosk/survey.html" if context.channel == "kiosk" else "public/survey.html"
    values = {q.field: request.form.getlist(q.field) for q in questions.values()} if posted else {}
    page = render_template(
        template,
        counter=context.counter,
        agency=context.counter.agency,
        title=context.questionnaire.title.get(lang) or context.questionnaire.title.get("vi", ""),
        total=len(questions),
        show_progress=len(questions) >= PROGRESS_FROM,
        services=services,
        version=context.version,
        nonce=new_nonce() if notice == "outdated" or not posted else request.form.get("nonce", ""),
        action=_action(context),
        values=values,
        **form_extras(context, sections, errors, values),
        service_value=request.form.get("service", "") if posted else "",
        errors=errors,
        notice=notice,
        verified=context.receipt is not None,
    )
    if notice == "unavailable":
        page = _with_alert(page, _("The service is briefly unavailable, so your answers have not been "
                                   "saved yet. They are kept below: please send them again in a moment."))
    if status is None:
        status = 422 if outcome is not None else 200
    return make_response(page, status)


def _with_alert(page: str, message: str) -> str:
    # The shared form template words the notices it knows; this one is put in front of the form.
    alert = f'<div class="alert" role="alert">{escape(message)}</div>\n'
    head, marker, tail = page.partition('<form class="survey"')
    return head + alert + marker + tail if marker else page


# counter id -> the services its form last offered (in this process), so that a form sent during an
# outage can be drawn again with its service list; display only.
_SERVICES: dict[int, tuple[Named, ...]] = {}


def _remember_services(counter: Counter) -> None:
    if counter.services:
        if len(_SERVICES) > 10_000:
            _SERVICES.clear()
        _SERVICES[counter.id] = counter.services


def detached(context: SurveyContext) -> SurveyContext:
    """The context with the services the counter's form last showed in this process, so that the form
    can be drawn again when the database cannot be read. No query: the counter is plain values."""
    counter = context.counter
    if counter.services or counter.id not in _SERVICES:
        return context
    return replace(context, counter=replace(counter, services=_SERVICES[counter.id]))


def counter_not_found():
    """A friendly page, in both languages, for an unknown or retired QR code."""
    return make_response(render_template("public/not_found.html"), 404)


def no_questionnaire(counter: Counter, channel: str):
    """A clear message when a counter collects no ratings right now."""
    return make_response(render_template("public/landing.html", counter=counter, kiosk=channel == "kiosk"))
