"""A survey campaign's estimates (issue 19): design-weighted, beside the counters' for the same agencies and
period, with the difference and its test. Leaders and administrators, within their agency's subtree."""

from __future__ import annotations

from flask import abort, g, render_template, request
from flask_login import current_user

from app.extensions import db
from app.models import Campaign
from app.reports import bp
from app.services.campaigns import campaign_estimates, list_campaigns
from app.services.registry import in_scope
from app.web.guards import ensure_scope, requires


@bp.get("/campaigns")
@requires("campaign_reports")
def campaign_list():
    """The drawn campaigns in the reader's scope, each linking to its estimates (leaders have no other way
    to them: the planner is for administrators)."""
    campaigns = [c for c in list_campaigns()
                 if c.status != "planning" and in_scope(current_user, c.agency_id)]
    return render_template("reports/campaigns.html", campaigns=campaigns, lang=g.lang)


@bp.get("/campaigns/<int:campaign_id>")
@requires("campaign_reports")
def campaign_report(campaign_id: int):
    """Overall, per stratum and per agency: the campaign's index, interval, deff and the counters' index."""
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    ensure_scope(campaign.agency_id)
    if campaign.status == "planning":
        abort(404)
    poststratified = request.args.get("weighting") == "poststratified"
    result = campaign_estimates(campaign, poststratified=poststratified)
    return render_template("reports/campaign.html", campaign=campaign, result=result, lang=g.lang,
                           asked_poststratified=poststratified)
