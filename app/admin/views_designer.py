"""Questionnaire designer: new from a template or file, edit drafts, preview, publish, clone, export."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.forms import ActionForm, DraftForm, NewQuestionnaireForm, UploadForm
from app.admin.uploads import UploadError, text_stream
from app.extensions import db
from app.models import QuestionnaireVersion
from app.services.questionnaires import designer, designer_form, xlsform
from app.web.guards import requires
from app.web.survey_form import survey_sections

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class _Place:
    """A named stand-in for an agency or counter on the preview page."""

    name_vi: str
    name_en: str

    def name(self, lang: str) -> str:
        """The name in a language."""
        return self.name_en if lang == "en" else self.name_vi


def _version(version_id: int) -> QuestionnaireVersion:
    return db.session.get(QuestionnaireVersion, version_id) or abort(404)


def _post_ok() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def _to_version(version: QuestionnaireVersion):
    return redirect(url_for("admin.questionnaire_version", version_id=version.id))


@bp.get("/questionnaires")
@requires("questionnaires")
def questionnaires():
    """Every questionnaire with its versions and open draft."""
    new_form = NewQuestionnaireForm()
    new_form.template.choices = designer.templates()
    return render_template("admin/questionnaires.html", rows=designer.list_questionnaires(),
                           new_form=new_form, upload_form=UploadForm(), form=ActionForm())


@bp.post("/questionnaires/new")
@requires("questionnaires")
def questionnaire_new():
    """Start a draft from a template (a blank one, or a standard SIPAS file)."""
    form = NewQuestionnaireForm()
    form.template.choices = designer.templates()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("admin.questionnaires"))
    try:
        version = designer.create_from_template(form.template.data, form.code.data, current_user)
    except designer.DesignerError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.questionnaires"))
    db.session.commit()
    return _to_version(version)


@bp.post("/questionnaires/import")
@requires("questionnaires")
def questionnaire_import():
    """Open a questionnaire file (YAML or JSON) as a draft."""
    form = UploadForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        text = text_stream(form.file.data).read()
        version = designer.import_file(text, form.file.data.filename or "upload", current_user)
    except (UploadError, designer.DesignerError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.questionnaires"))
    db.session.commit()
    flash(_("File opened as a draft; check it and publish."), "ok")
    return _to_version(version)


@bp.route("/questionnaires/versions/<id:version_id>", methods=["GET", "POST"])
@requires("questionnaires")
def questionnaire_version(version_id: int):
    """See a version; edit it while it is a draft (every error is listed with its key path)."""
    version = _version(version_id)
    form = DraftForm()
    errors: list[str] = []
    if version.status == "draft" and form.validate_on_submit():
        try:
            errors = designer.save_draft(version, form.text.data, current_user)
        except designer.DesignerError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash(_("Draft saved.") if not errors else _("Draft saved, but it cannot be published yet."),
                  "ok" if not errors else "error")
    elif not form.is_submitted():
        form.text.data = designer.file_text(version.definition)
        errors = designer.preview(version).errors if version.status == "draft" else []
    return render_template("admin/questionnaire_version.html", version=version, form=form, errors=errors,
                           action_form=ActionForm())


@bp.post("/questionnaires/versions/<id:version_id>/publish")
@requires("questionnaires")
def questionnaire_publish(version_id: int):
    """Publish a valid draft as an immutable version."""
    version = _version(version_id)
    _post_ok()
    try:
        designer.publish_draft(version, current_user)
    except designer.DesignerError as exc:
        db.session.rollback()
        flash(_("This draft cannot be published:") + " " + "; ".join(exc.errors), "error")
        return _to_version(version)
    db.session.commit()
    flash(_("Published as version %(n)d.", n=version.version), "ok")
    return _to_version(version)


@bp.post("/questionnaires/versions/<id:version_id>/clone")
@requires("questionnaires")
def questionnaire_clone(version_id: int):
    """Copy a version into a new draft."""
    version = _version(version_id)
    _post_ok()
    try:
        draft = designer.clone_version(version, current_user)
    except designer.DesignerError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _to_version(version)
    db.session.commit()
    return _to_version(draft)


@bp.post("/questionnaires/versions/<id:version_id>/delete")
@requires("questionnaires")
def questionnaire_delete(version_id: int):
    """Delete a draft."""
    version = _version(version_id)
    _post_ok()
    try:
        designer.delete_draft(version, current_user)
    except designer.DesignerError as exc:
        flash(str(exc), "error")
        return _to_version(version)
    db.session.commit()
    flash(_("Draft deleted."), "ok")
    return redirect(url_for("admin.questionnaires"))


@bp.get("/questionnaires/versions/<id:version_id>/file")
@requires("questionnaires")
def questionnaire_export(version_id: int):
    """Download a version as a questionnaire file (YAML, FORMATS.md §1)."""
    version = _version(version_id)
    name = f"{version.questionnaire.code}-v{version.version}.yaml"
    return Response(designer.file_text(version.definition), mimetype="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/questionnaires/versions/<id:version_id>/xlsform")
@requires("questionnaires")
def questionnaire_xlsform(version_id: int):
    """Download a version as an XLSForm (ODK, KoboToolbox, SurveyCTO), issue 17."""
    version = _version(version_id)
    name = f"{version.questionnaire.code}-v{version.version}.xlsx"
    return Response(xlsform.export_version(version), mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/questionnaires/versions/<id:version_id>/preview")
@requires("questionnaires")
def questionnaire_preview(version_id: int):
    """The version exactly as a citizen sees it on the phone (the form does not submit)."""
    version = _version(version_id)
    result = designer.preview(version)
    if result.questionnaire is None:
        return render_template("admin/questionnaire_version.html", version=version, form=None,
                               errors=result.errors, action_form=ActionForm()), 422
    questionnaire = result.questionnaire
    sections = survey_sections(questionnaire, g.lang)
    total = sum(len(s.questions) for s in sections)
    # Stand-ins for the counter: the page around the form is the citizen's own template.
    agency = _Place("Xem trước", "Preview")
    counter = _Place("Quầy mẫu", "Sample counter")
    page = render_template(
        "public/survey.html", counter=counter, agency=agency,
        title=questionnaire.title.get(g.lang) or questionnaire.title.get(questionnaire.default_language, ""),
        sections=sections, total=total, show_progress=total >= 8, services=[], version=version,
        nonce="preview", action=url_for("admin.questionnaire_preview", version_id=version.id),
        values={}, service_value="", errors={}, notice=None, verified=False,
    )
    return page


@bp.route("/questionnaires/versions/<id:version_id>/design", methods=["GET", "POST"])
@requires("questionnaires")
def questionnaire_design(version_id: int):
    """Edit a draft field by field: texts in both languages, scale, elements, questions, weights."""
    version = _version(version_id)
    if version.status != "draft" or not designer_form.fits_form(version.definition):
        return _to_version(version)
    errors: list[str] = []
    if ActionForm().validate_on_submit():
        step = request.form.get("step", "save")
        try:
            definition = designer_form.apply_step(designer_form.from_form(request.form, version.definition),
                                                  step)
        except designer_form.MoveRefused as refused:
            # The typed changes are kept; only the move is not made.
            definition = designer_form.from_form(request.form, version.definition)
            flash(_("%(question)s is asked only depending on the answer to %(earlier)s, so it must come "
                    "after it; the move was not made.", question=refused.question,
                    earlier=refused.depends_on), "error")
        errors = designer.save_definition(version, definition, current_user)
        db.session.commit()
        if step == "save":
            flash(_("Draft saved.") if not errors else _("Draft saved, but it cannot be published yet."),
                  "ok" if not errors else "error")
    elif request.method == "GET":
        errors = designer.preview(version).errors
    return render_template("admin/questionnaire_design.html", version=version, errors=errors,
                           view=designer_form.to_form(version.definition), types=designer_form.QUESTION_TYPES,
                           operators=_condition_operators(), action_form=ActionForm())


def _condition_operators() -> list[tuple[str, str]]:
    """The condition operators with their words, in the page's language."""
    return [("equals", _("is")), ("one_of", _("is one of (comma separated)")),
            ("at_most", _("is at most")), ("at_least", _("is at least"))]
