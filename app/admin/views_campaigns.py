"""Survey campaigns (issue 19): the list, a new campaign, the planner, the draw and the purge.

Administrators only. The planner shows, per stratum, the frame's dossiers, the sample that the
target precision needs, the allocated invitations, the expected answers and half-width; settings
change and the plan is made again until the draw, after which everything is frozen.
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.forms import ActionForm
from app.admin.forms_campaigns import CampaignForm
from app.extensions import db
from app.models import Campaign
from app.services.campaigns import (
    CampaignError,
    CampaignSettings,
    create_campaign,
    draw_campaign,
    list_campaigns,
    plan_campaign,
    plan_rows,
    purge_campaign,
    update_campaign,
    version_choices,
)
from app.services.registry import agency_choices
from app.web.guards import requires


def _form(campaign: Campaign | None = None) -> CampaignForm:
    form = CampaignForm()
    if campaign is not None and request.method == "GET":
        form.process(obj=campaign)
        form.target_half_width.data = round(100 * campaign.target_half_width, 6)
        form.expected_response_rate.data = round(100 * campaign.expected_response_rate, 6)
    form.fill_choices(version_choices(), agency_choices(current_user, g.lang))
    return form


def _settings(form: CampaignForm) -> CampaignSettings:
    return CampaignSettings(
        code=form.code.data, name=form.name.data, version_id=form.version_id.data,
        agency_id=form.agency_id.data, period_start=form.period_start.data, period_end=form.period_end.data,
        strata_by=form.strata_by.data, target_half_width=form.target_half_width.data / 100,
        design_effect=form.design_effect.data, expected_response_rate=form.expected_response_rate.data / 100,
        allocation=form.allocation.data, budget=form.budget.data, method=form.method.data,
        reminder_days=form.reminder_days.data or 7)


def status_labels() -> dict[str, str]:
    """A campaign's status in words."""
    return {"planning": _("Planning"), "drawn": _("Drawn (frozen)"), "closed": _("Closed"),
            "purged": _("Purged (contacts deleted)")}


def _campaign(campaign_id: int) -> Campaign:
    return db.session.get(Campaign, campaign_id) or abort(404)


@bp.get("/campaigns")
@requires("campaigns")
def campaigns():
    """Every campaign with its status and sample sizes."""
    return render_template("admin/campaigns.html", campaigns=list_campaigns(), status_labels=status_labels())


@bp.route("/campaigns/new", methods=["GET", "POST"])
@requires("campaigns")
def campaign_new():
    """A new campaign; it is planned at once, so the planner opens with its strata."""
    form = _form()
    status = 200
    if form.validate_on_submit():
        try:
            campaign = create_campaign(_settings(form), current_user)
        except CampaignError as error:
            db.session.rollback()
            _field_error(form, error)
            status = 400
        else:
            db.session.commit()
            _plan(campaign)
            return redirect(url_for("admin.campaign_plan", campaign_id=campaign.id))
    elif request.method == "POST":
        status = 400
    return render_template("admin/campaign_form.html", form=form, title=_("New survey campaign")), status


def _field_error(form: CampaignForm, error: CampaignError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


def _plan(campaign: Campaign) -> bool:
    """Plan and commit; an error is flashed and nothing of the plan stored."""
    try:
        plan_campaign(campaign, current_user)
    except CampaignError as error:
        db.session.rollback()
        flash(error.message, "error")
        return False
    db.session.commit()
    return True


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@requires("campaigns")
def campaign_plan(campaign_id: int):
    """The planner: settings (while planning) and, per stratum, what the plan asks for."""
    campaign = _campaign(campaign_id)
    form = _form(campaign) if campaign.status == "planning" else None
    status = 200
    if form is not None and request.method == "POST":
        if form.validate_on_submit():
            try:
                update_campaign(campaign, _settings(form), current_user)
            except CampaignError as error:
                db.session.rollback()
                _field_error(form, error)
                status = 400
            else:
                db.session.commit()
                _plan(campaign)
                return redirect(url_for("admin.campaign_plan", campaign_id=campaign.id))
        else:
            status = 400
    rows = plan_rows(campaign)
    return render_template("admin/campaign_plan.html", campaign=campaign, form=form, rows=rows,
                           action=ActionForm(), lang=g.lang, status_labels=status_labels(),
                           view_functions=current_app.view_functions), status


@bp.route("/campaigns/<int:campaign_id>/draw", methods=["GET", "POST"])
@requires("campaigns")
def campaign_draw(campaign_id: int):
    """Draw the sample after a confirmation; the campaign is frozen afterwards."""
    campaign = _campaign(campaign_id)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit() and request.form.get("confirm") == "yes":
        try:
            drawn = draw_campaign(campaign, actor=current_user)
        except CampaignError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("%(n)d dossiers drawn with seed %(seed)s; the campaign is frozen.", n=drawn,
                    seed=campaign.seed), "success")
        return redirect(url_for("admin.campaign_plan", campaign_id=campaign.id))
    rows = plan_rows(campaign)
    consequences = [
        _("%(n)d dossiers are drawn at random from %(strata)d strata, by the plan below.",
          n=sum(r.planned for r in rows), strata=len(rows)),
        _("The seed is recorded: drawing again with it gives the same sample."),
        _("The campaign is frozen: its settings and plan can no longer change."),
    ]
    return render_template("admin/campaign_confirm.html", campaign=campaign, form=form,
                           title=_("Draw the sample of %(code)s", code=campaign.code),
                           consequences=consequences, button=_("Draw the sample"), rows=rows,
                           action=url_for("admin.campaign_draw", campaign_id=campaign.id))


@bp.route("/campaigns/<int:campaign_id>/purge", methods=["GET", "POST"])
@requires("campaigns")
def campaign_purge(campaign_id: int):
    """Delete the contacts the campaign used, after a confirmation (audited)."""
    campaign = _campaign(campaign_id)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit() and request.form.get("confirm") == "yes":
        try:
            deleted = purge_campaign(campaign, current_user)
        except CampaignError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("%(n)d contacts deleted; the campaign is purged.", n=deleted), "success")
        return redirect(url_for("admin.campaign_plan", campaign_id=campaign.id))
    consequences = [
        _("The e-mail addresses, phone numbers and postal addresses of the sampled dossiers are deleted."),
        _("The sample, its outcomes and the answers stay, with no way back to a person."),
    ]
    return render_template("admin/campaign_confirm.html", campaign=campaign, form=form,
                           title=_("Purge the contacts of %(code)s", code=campaign.code),
                           consequences=consequences, button=_("Purge the contacts"),
                           action=url_for("admin.campaign_purge", campaign_id=campaign.id))
