"""Responses: CSV import from the browser and fast entry of paper questionnaires."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.admin import bp
from app.admin.forms import PaperForm, UploadForm
from app.admin.uploads import run_import
from app.extensions import db
from app.inputs import form_id
from app.models import ServicePoint
from app.services.collect import published_version_for
from app.services.exchange import (
    DESIGN_COLUMNS,
    import_responses_for,
    new_nonce,
    parse_interview,
    submit_paper,
    translated,
)
from app.services.questionnaires import questionnaire_of
from app.services.registry import list_counters
from app.web.guards import ensure_scope, requires

INTERVIEW_FIELDS = ("interview_date", "enumerator", "interview_mode")
MODE_LABELS = {"self": _l("Filled in by the citizen"), "face": _l("Face-to-face interview"),
               "phone": _l("Telephone interview")}
ERROR_TEXT = {
    "required": _l("required"),
    "invalid": _l("not an allowed value"),
    "too_long": _l("too long"),
}


@bp.get("/responses")
@requires("responses")
def responses():
    """Ways to add responses."""
    return render_template("admin/responses.html")


@bp.route("/responses/import", methods=["GET", "POST"])
@requires("responses")
def responses_import():
    """Import a responses CSV (FORMATS.md §2): every row checked, all or nothing."""
    title = _("Import responses")
    form = UploadForm()
    if form.validate_on_submit():
        return run_import(form, import_responses_for, title, url_for("admin.responses_import"),
                          actor=current_user)
    return render_template("admin/import_form.html", form=form, title=title, columns=DESIGN_COLUMNS,
                           action=url_for("admin.responses_import"),
                           note=_("…followed by one column per question code."))


def _hint(question, scale) -> str:
    if question.type == "likert":
        return f"1–{scale.points}"
    if question.type == "nps":
        return "0–10"
    if question.type == "yesno":
        return "y / n"
    if question.type in ("single", "multi"):
        values = " · ".join(question.option_values())
        return values + (" (a;b)" if question.type == "multi" else "")
    return ""


def _paper_counter() -> ServicePoint | None:
    counter_id = form_id("counter_id")
    if not counter_id:
        return None
    counter = db.session.get(ServicePoint, counter_id) or abort(404)
    ensure_scope(counter.agency_id)
    return counter


@bp.route("/responses/paper", methods=["GET", "POST"])
@requires("responses")
def responses_paper():
    """Type in paper questionnaires, one after another, from the keyboard."""
    form = PaperForm()
    counters = [c for c in list_counters(current_user) if c.active and c.questionnaire_id]
    form.counter_id.choices = [(c.id, f"{c.code} · {c.name(g.lang)}") for c in counters]
    counter = _paper_counter()
    version = published_version_for(counter) if counter else None
    questionnaire = questionnaire_of(version) if version else None
    errors: dict[str, str] = {}
    # The interview's day, enumerator and mode stay from one form to the next (a batch of one day's forms).
    source = request.form if request.method == "POST" else request.args
    kept = {name: source.get(name, "")[:200] for name in INTERVIEW_FIELDS}
    interview, interview_errors = parse_interview(*kept.values())
    if request.method == "POST" and questionnaire is not None and form.validate_on_submit() \
            and not interview_errors:
        fields = {q.code: request.form.get(q.code, "") for q in questionnaire.all_questions()}
        outcome = submit_paper(counter, version.id, questionnaire, fields, request.form.get("nonce", ""),
                               request.form.get("service", ""), current_user, interview)
        if outcome.thanked:
            flash(_("Saved. Next questionnaire."), "ok")
            return redirect(url_for("admin.responses_paper", counter_id=counter.id,
                                    **{k: v for k, v in kept.items() if v}))
        errors = {code: str(ERROR_TEXT.get(kind, kind)) for code, kind in outcome.errors.items()}
        if outcome.status == "outdated":
            flash(_("The questionnaire changed; please enter this form again."), "error")
    if request.method == "POST":
        errors.update({name: translated(problem) for name, problem in interview_errors.items()})
    questions = questionnaire.all_questions() if questionnaire else ()
    rows = [(q, _hint(q, questionnaire.scale)) for q in questions]
    return render_template("admin/paper.html", form=form, counter=counter, version=version, rows=rows,
                           errors=errors, nonce=request.form.get("nonce") or new_nonce(), values=request.form,
                           interview=kept, modes=MODE_LABELS)
