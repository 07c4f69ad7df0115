"""Survey campaigns (issue 19, official survey mode): a stratified random sample of completed dossiers
instead of the counters' convenience sample.

This package owns: creating and editing a campaign while it is being planned, its sampling frame
(dossiers completed in the period in the campaign agency's subtree, stratified by agency or by
agency and procedure group), the plan (sample size per stratum for a target precision, allocated
within a budget), the draw (reproducible from a recorded seed, every sampled dossier's inclusion
probability stored, the campaign frozen afterwards) and its verification, the purge of the
contacts a campaign used, and the design-weighted estimates of a campaign next to the counters'.
The statistics are analysis.sampling's and analysis.estimate's; invitations and answers belong to
app.services.invitations, dossier lists to app.services.dossiers.

Blueprints and commands import from this package only; the modules below are its own."""

from app.services import lazy_exports

# name -> the module of this package that defines it (None: the module itself)
__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "CampaignError": "planning",
        "CampaignSettings": "planning",
        "StratumPlan": "planning",
        "build_frame": "planning",
        "campaign_by_code": "planning",
        "create_campaign": "planning",
        "list_campaigns": "planning",
        "plan_campaign": "planning",
        "plan_rows": "planning",
        "update_campaign": "planning",
        "version_choices": "planning",
        "draw_campaign": "drawing",
        "purge_campaign": "drawing",
        "redraw": "drawing",
        "verify_draw": "drawing",
        "CampaignEstimates": "estimates",
        "campaign_estimates": "estimates",
    },
)
