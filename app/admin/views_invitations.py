"""A campaign's invitations and their tracking (issue 19), and the enumerators' interviews.

Administrators print the letters, queue the e-mails, SMS and reminders and see the tracking; managers
see the tracking of campaigns in their agencies (read only); enumerators list the sampled dossiers they
may interview and enter the answers."""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.admin import bp
from app.admin.forms import ActionForm
from app.admin.views_responses import ERROR_TEXT, MODE_LABELS
from app.extensions import db
from app.models import Campaign
from app.services.invitations import (
    INTERVIEW_MODES,
    TooManyLetters,
    campaign_tracking,
    enumerator_samples,
    interview_sample,
    invitation_for,
    letters_pdf,
    queue_invitations,
    queue_reminders,
    record_interview_refusal,
    reminders_due,
    submit_interview,
    typed_answers,
)
from app.services.registry import may
from app.web.guards import ensure_scope, requires

# Laying a letter out takes WeasyPrint about 0.1 s: a download stays well within a request's time.
LETTERS_PER_DOWNLOAD = 150
OUTCOME_NAMES = {"pending": _l("not contacted"), "invited": _l("invited"), "delivered": _l("delivered"),
                 "bounced": _l("bounced"), "opened": _l("opened"), "answered": _l("answered"),
                 "refused": _l("refused")}
INTERVIEW_ERRORS = {
    "interview_date": {"required": _l("required"),
                       "invalid": _l("Give a day from 2000 to today, like 2025-06-30.")},
}


def _campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    ensure_scope(campaign.agency_id)
    return campaign


@bp.get("/campaigns/<int:campaign_id>/tracking")
@requires("campaign_tracking")
def campaign_tracking_page(campaign_id: int):
    """Per stratum: sampled, invited, delivered, bounced, opened, answered, refused, not contacted, RR1."""
    campaign = _campaign(campaign_id)
    strata, total = campaign_tracking(campaign)
    return render_template(
        "admin/campaign_tracking.html", campaign=campaign, strata=strata, total=total, form=ActionForm(),
        can_invite=may(current_user, "invitations") and campaign.status == "drawn",
        reminders_due=len(reminders_due(campaign)) if campaign.status == "drawn" else 0,
        reminders_by_post=len(reminders_due(campaign, channels=("post",))) if campaign.status == "drawn"
        else 0,
        plan_url=_plan_url(campaign))


def _plan_url(campaign: Campaign) -> str | None:
    """The campaign's planner page (app/admin/views_campaigns.py), for those who may open it."""
    if "admin.campaign_plan" not in current_app.view_functions or not may(current_user, "campaigns"):
        return None
    return url_for("admin.campaign_plan", campaign_id=campaign.id)


@bp.get("/campaigns/<int:campaign_id>/tracking.json")
@requires("campaign_tracking")
def campaign_tracking_json(campaign_id: int):
    """The tracking as JSON."""
    campaign = _campaign(campaign_id)
    strata, total = campaign_tracking(campaign)
    return {"campaign": campaign.code, "strata": [s.as_dict() for s in strata], "total": total.as_dict()}


def _drawn(campaign_id: int) -> Campaign:
    campaign = _campaign(campaign_id)
    if campaign.status != "drawn":
        abort(409)
    return campaign


@bp.get("/campaigns/<int:campaign_id>/letters.pdf")
@requires("invitations")
def campaign_letters(campaign_id: int):
    """One A4 letter per sampled dossier reached by post (?reminders=1: those owed a reminder); printing
    marks them invited (or reminded)."""
    campaign = _drawn(campaign_id)
    reminders = request.args.get("reminders") == "1"
    stratum = next((s for s in campaign.strata if str(s.id) == request.args.get("stratum")), None)
    try:
        pdf, pages = letters_pdf(campaign, reminders=reminders, stratum_id=stratum.id if stratum else None,
                                 limit=current_app.config.get("LETTERS_PER_DOWNLOAD", LETTERS_PER_DOWNLOAD))
    except TooManyLetters as exc:
        flash(_("%(count)d letters are too many for one download: print them stratum by stratum, or with "
                "flask campaigns invite %(code)s --channel post --out letters.pdf.", count=exc.count,
                code=campaign.code), "error")
        return redirect(url_for("admin.campaign_tracking_page", campaign_id=campaign.id))
    if not pages:
        flash(_("No letter to print."), "error")
        return redirect(url_for("admin.campaign_tracking_page", campaign_id=campaign.id))
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    name = f"{campaign.code}{'-' + stratum.key.replace('/', '-') if stratum else ''}-" \
           f"{'reminders' if reminders else 'letters'}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.post("/campaigns/<int:campaign_id>/invite")
@requires("invitations")
def campaign_invite(campaign_id: int):
    """Queue the e-mail and SMS invitations of the dossiers not invited yet."""
    campaign = _drawn(campaign_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    counts = queue_invitations(campaign)
    flash(_("Queued: %(email)d e-mails, %(sms)d SMS. The outbox worker sends them.",
            email=counts["email"], sms=counts["sms"]), "ok")
    return redirect(url_for("admin.campaign_tracking_page", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/remind")
@requires("invitations")
def campaign_remind(campaign_id: int):
    """Queue the e-mail and SMS reminders owed now."""
    campaign = _drawn(campaign_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    counts = queue_reminders(campaign)
    flash(_("Reminders queued: %(email)d e-mails, %(sms)d SMS.", email=counts["email"], sms=counts["sms"]),
          "ok")
    return redirect(url_for("admin.campaign_tracking_page", campaign_id=campaign.id))


@bp.get("/interviews")
@requires("interviews")
def interviews():
    """The sampled dossiers the enumerator may interview (not answered yet)."""
    return render_template("admin/interviews.html", rows=enumerator_samples(current_user),
                           outcome_names=OUTCOME_NAMES)


def _hint(question, scale) -> str:
    if question.type == "likert":
        return f"1–{scale.points}"
    if question.type == "nps":
        return "0–10"
    if question.type == "yesno":
        return "y / n"
    if question.type in ("single", "multi"):
        return " · ".join(question.option_values()) + (" (a;b)" if question.type == "multi" else "")
    return ""


@bp.route("/interviews/<int:sample_id>", methods=["GET", "POST"])
@requires("interviews")
def interview(sample_id: int):
    """Enter one sampled dossier's answers from a face-to-face or phone interview."""
    row = interview_sample(current_user, sample_id) or abort(404)
    db.session.commit()  # the audit of the contact's viewing
    found = invitation_for(row.sample) or abort(409)
    questionnaire = found.questionnaire
    form = ActionForm()
    errors: dict[str, str] = {}
    values = request.form if request.method == "POST" else {}
    if request.method == "POST" and form.validate_on_submit():
        fields = {q.code: request.form.get(q.code, "") for q in questionnaire.all_questions()}
        outcome = submit_interview(current_user, row.sample, request.form.get("version_id", ""),
                                   typed_answers(questionnaire, fields),
                                   request.form.get("interview_date", ""),
                                   request.form.get("interview_mode", ""), today=date.today())
        if outcome.thanked:
            flash(_("Saved: dossier %(code)s is answered.", code=row.dossier.code)
                  if outcome.status == "stored" else _("This dossier was answered already."), "ok")
            return redirect(url_for("admin.interviews"))
        for code, kind in outcome.errors.items():
            errors[code] = str(INTERVIEW_ERRORS.get(code, {}).get(kind) or ERROR_TEXT.get(kind, kind))
        if outcome.status == "outdated":
            flash(_("The questionnaire changed; please enter this form again."), "error")
    rows = [(q, _hint(q, questionnaire.scale)) for q in questionnaire.all_questions()]
    modes = {code: MODE_LABELS[code] for code in INTERVIEW_MODES}
    return render_template("admin/interview.html", row=row, version=found.version, rows=rows, form=form,
                           errors=errors, values=values, modes=modes, lang=g.lang,
                           today=date.today().isoformat()), 422 if errors else 200


@bp.post("/interviews/<int:sample_id>/refused")
@requires("interviews")
def interview_refused(sample_id: int):
    """The holder declined the interview."""
    row = interview_sample(current_user, sample_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    record_interview_refusal(current_user, row.sample)
    flash(_("Recorded: the holder of dossier %(code)s declined.", code=row.dossier.code), "ok")
    return redirect(url_for("admin.interviews"))
