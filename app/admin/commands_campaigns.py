"""Command line of survey campaigns (issue 19): create, plan, draw, verify, purge, list and estimates."""

from __future__ import annotations

import click
from flask_babel import force_locale

from app.extensions import db
from app.models import Agency, Questionnaire, QuestionnaireVersion
from app.services.campaigns import (
    CampaignError,
    CampaignSettings,
    campaign_by_code,
    campaign_estimates,
    create_campaign,
    draw_campaign,
    list_campaigns,
    plan_campaign,
    plan_rows,
    purge_campaign,
    verify_draw,
)


@click.group("campaigns")
def campaigns_cli():
    """Survey campaigns: a stratified random sample of completed dossiers (official survey mode)."""


def _campaign(code: str):
    campaign = campaign_by_code(code)
    if campaign is None:
        raise click.ClickException(f"no campaign with the code {code}")
    return campaign


def _fail(error: CampaignError):
    db.session.rollback()
    raise click.ClickException(error.message)


def _version_id(questionnaire: str, version: int | None) -> int:
    query = db.select(QuestionnaireVersion).join(Questionnaire).where(
        Questionnaire.code == questionnaire, QuestionnaireVersion.status == "published")
    if version is not None:
        query = query.where(QuestionnaireVersion.version == version)
    found = db.session.scalars(query.order_by(QuestionnaireVersion.version.desc())).first()
    if found is None:
        raise click.ClickException(f"no published version of questionnaire {questionnaire}")
    return found.id


@campaigns_cli.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--questionnaire", required=True, help="Questionnaire code (its latest published version).")
@click.option("--version", type=int, default=None, help="A published version number instead of the latest.")
@click.option("--agency", required=True, help="Code of the agency whose subtree the campaign covers.")
@click.option("--start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First completion day.")
@click.option("--end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last completion day.")
@click.option("--strata", type=click.Choice(["agency", "agency_procedure_group"]), default="agency",
              show_default=True)
@click.option("--half-width", type=float, default=5.0, show_default=True,
              help="Target half-width of the 95 % interval per stratum, in percent points.")
@click.option("--deff", type=float, default=1.0, show_default=True, help="Assumed design effect.")
@click.option("--response-rate", type=float, default=50.0, show_default=True, help="Expected, in percent.")
@click.option("--allocation", type=click.Choice(["proportional", "equal", "neyman"]), default="proportional",
              show_default=True)
@click.option("--budget", type=int, default=None, help="At most this many invitations in all.")
@click.option("--method", type=click.Choice(["srs", "systematic"]), default="srs", show_default=True)
@click.option("--reminder-days", type=click.IntRange(1, 90), default=7, show_default=True,
              help="Remind who has not answered this many days after the invitation.")
def campaigns_create(code, name, questionnaire, version, agency, start, end, strata, half_width, deff,
                     response_rate, allocation, budget, method, reminder_days):
    """Create a campaign in planning."""
    found = db.session.scalar(db.select(Agency).where(Agency.code == agency))
    if found is None:
        raise click.ClickException(f"no agency with the code {agency}")
    settings = CampaignSettings(
        code=code, name=name, version_id=_version_id(questionnaire, version), agency_id=found.id,
        period_start=start.date(), period_end=end.date(), strata_by=strata,
        target_half_width=half_width / 100, design_effect=deff, expected_response_rate=response_rate / 100,
        allocation=allocation, budget=budget, method=method, reminder_days=reminder_days)
    with force_locale("en"):
        try:
            create_campaign(settings)
        except CampaignError as error:
            _fail(error)
    db.session.commit()
    click.echo(f"created {code}")


def _echo_plan(campaign) -> None:
    click.echo("stratum\tN_h\tneeded_completes\tneeded\tplanned\tdrawn\texpected_completes\texpected_half_width")
    for row in plan_rows(campaign):
        half = "" if row.expected_half_width is None else f"{100 * row.expected_half_width:.2f}"
        click.echo(f"{row.key}\t{row.population}\t{row.needed_completes}\t{row.needed}\t{row.planned}\t"
                   f"{row.drawn}\t{row.expected_completes:g}\t{half}")


@campaigns_cli.command("plan")
@click.argument("code")
def campaigns_plan(code):
    """(Re)plan a campaign: sample size per stratum from its frame, allocated within the budget."""
    campaign = _campaign(code)
    with force_locale("en"):
        try:
            plan_campaign(campaign)
        except CampaignError as error:
            _fail(error)
    db.session.commit()
    _echo_plan(campaign)


@campaigns_cli.command("draw")
@click.argument("code")
@click.option("--seed", type=int, default=None, help="Draw with this seed (default: a random one, recorded).")
def campaigns_draw(code, seed):
    """Draw a planned campaign's sample; the campaign is frozen afterwards."""
    campaign = _campaign(code)
    with force_locale("en"):
        try:
            drawn = draw_campaign(campaign, seed=seed)
        except CampaignError as error:
            _fail(error)
    db.session.commit()
    click.echo(f"drawn {drawn} dossiers with seed {campaign.seed}")
    _echo_plan(campaign)


@campaigns_cli.command("verify")
@click.argument("code")
def campaigns_verify(code):
    """Draw again in memory from the recorded seed and compare with the stored sample."""
    campaign = _campaign(code)
    with force_locale("en"):
        try:
            check = verify_draw(campaign)
        except CampaignError as error:
            _fail(error)
    click.echo(f"stored={check.stored} repeated={check.repeated} differences={check.differences}")
    if not check.matches:
        raise click.ClickException("the stored sample is not the one its seed gives")
    click.echo("the stored sample is the one its seed gives")


@campaigns_cli.command("purge")
@click.argument("code")
def campaigns_purge(code):
    """Delete the contacts the campaign used (audited) and mark it purged."""
    campaign = _campaign(code)
    with force_locale("en"):
        try:
            deleted = purge_campaign(campaign)
        except CampaignError as error:
            _fail(error)
    db.session.commit()
    click.echo(f"purged {code}: {deleted} contacts deleted")


@campaigns_cli.command("list")
def campaigns_list():
    """Every campaign with its status and sizes."""
    click.echo("code\tstatus\tperiod\tstrata\tplanned\tdrawn\tseed")
    for c in list_campaigns():
        planned = sum(s.planned for s in c.strata)
        drawn = sum(s.drawn for s in c.strata)
        click.echo(f"{c.code}\t{c.status}\t{c.period_start}..{c.period_end}\t{len(c.strata)}\t{planned}\t"
                   f"{drawn}\t{'' if c.seed is None else c.seed}")


def _num(value, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


@campaigns_cli.command("estimates")
@click.argument("code")
@click.option("--poststratify", is_flag=True,
              help="Post-stratify to the frame's agency × procedure group counts.")
def campaigns_estimates(code, poststratify):
    """The campaign's OVERALL index per domain with its interval and deff, beside the counters' (z test)."""
    campaign = _campaign(code)
    result = campaign_estimates(campaign, poststratified=poststratify)
    if result.note:
        click.echo(f"note: {result.note}")
    click.echo("level\tkey\tsampled\tresponded\testimate\tci_low\tci_high\tdeff\tcounter\tcounter_n\t"
               "difference\tp")
    for d in result.domains:
        counter = d.counter or {}
        click.echo(f"{d.level}\t{d.key or 'ALL'}\t{d.sampled}\t{d.responded}\t{_num(d.estimate)}\t"
                   f"{_num(d.ci_low)}\t{_num(d.ci_high)}\t{_num(d.deff, 2)}\t"
                   f"{_num(counter.get('estimate'))}\t{counter.get('n', '')}\t{_num(d.difference)}\t"
                   f"{_num(d.p, 4)}")
    if result.empty_strata:
        click.echo(f"note: no answer yet in {', '.join(result.empty_strata)}; the totals leave them out")
