"""An invitation's address, /i/<code>: a sampled dossier's holder answers the campaign's questionnaire
once, or declines (issue 19). Thin: app.services.invitations does the work."""

from __future__ import annotations

from types import SimpleNamespace

from flask import g, redirect, render_template, request, url_for

from app.extensions import limiter
from app.public import bp
from app.public.citizen import form_extras
from app.public.views import _survey_limit, once_more_if_disconnected
from app.services.collect import new_nonce
from app.services.invitations import (
    InvitationError,
    invitation_for,
    open_invitation,
    read_invitation_code,
    refuse_invitation,
    submit_invitation,
)
from app.web.survey_form import error_message, read_answers, survey_sections


def _limit_key() -> str:
    return f"{request.remote_addr}|invitation"


@bp.route("/i/<code>", methods=["GET", "POST"])
@limiter.limit(_survey_limit, key_func=_limit_key, methods=["POST"])
@once_more_if_disconnected
def invitation(code: str):
    """The invitation: its questionnaire, the answer (stored once), or the holder declining."""
    try:
        sample = read_invitation_code(code)
    except InvitationError as exc:
        return render_template("public/invitation_problem.html", reason=exc.reason), (
            410 if exc.reason == "closed" else 404)
    found = invitation_for(sample)
    if found is None:
        return render_template("public/invitation_problem.html", reason="closed"), 410
    if found.answered:
        return _done("sent" if request.args.get("sent") else "answered")
    if request.method == "GET":
        open_invitation(sample)
        return _form(found, code)
    outcome = submit_invitation(sample, request.form.get("version_id", ""), read_answers(found.questionnaire))
    if outcome.thanked:
        return redirect(url_for("public.invitation", code=code, sent=1), code=303)
    return _form(found, code, outcome.errors, notice="outdated" if outcome.status == "outdated" else None)


@bp.route("/i/<code>/decline", methods=["GET", "POST"])
@limiter.limit(_survey_limit, key_func=_limit_key, methods=["POST"])
@once_more_if_disconnected
def invitation_decline(code: str):
    """The holder declines (POST), and is told they will not be asked again (GET)."""
    try:
        sample = read_invitation_code(code)
    except InvitationError as exc:
        return render_template("public/invitation_problem.html", reason=exc.reason), 404
    if request.method == "POST":
        refuse_invitation(sample)
        return redirect(url_for("public.invitation_decline", code=code), code=303)
    if sample.outcome != "refused":
        return redirect(url_for("public.invitation", code=code))
    return _done("declined")


def _done(reason: str):
    return render_template("public/invitation_done.html", reason=reason)


def _form(found, code: str, errors: dict[str, str] | None = None, notice: str | None = None):
    lang = g.get("lang", "vi")
    questionnaire = found.questionnaire
    sections = survey_sections(questionnaire, lang)
    questions = {q.code: q for s in sections for q in s.questions}
    errors = {c: error_message(kind, questions.get(c)) for c, kind in (errors or {}).items()}
    posted = request.method == "POST" and notice is None
    values = {q.field: request.form.getlist(q.field) for q in questions.values()} if posted else {}
    context = SimpleNamespace(questionnaire=questionnaire, channel="online")
    extras = form_extras(context, sections, errors, values)
    # A sampled holder answers the whole questionnaire: no quick rating that would waive the rest.
    extras.update(quick=None, sections=sections)
    page = render_template(
        "public/invitation.html", sample=found.sample, campaign=found.sample.campaign, agency=found.agency,
        title=questionnaire.title.get(lang) or questionnaire.title.get("vi", ""), total=len(questions),
        show_progress=len(questions) >= 8, services=(), version=found.version, nonce=new_nonce(),
        action=url_for("public.invitation", code=code),
        decline=url_for("public.invitation_decline", code=code), values=values, errors=errors, notice=notice,
        service_value="", **extras)
    return page, 422 if errors else 200
