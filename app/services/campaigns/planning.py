"""A campaign's settings, its sampling frame and its plan (sample sizes per stratum), before the draw.

The frame is every dossier completed within the campaign's period in its agency's subtree; a
stratum is an agency, or an agency and procedure group. The plan asks analysis.sampling how many
completes each stratum needs for the target half-width, how many invitations that means at the
expected response rate, and shares the total (or the budget, when smaller) by the allocation.
Nothing here commits: the caller does, so a refused change stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import delete, select

from analysis.sampling import SamplingError, expected_half_width, plan_strata, sample_size
from app.extensions import db
from app.models import Agency, Campaign, CampaignStratum, Dossier, QuestionnaireVersion, User
from app.models.campaign import ALLOCATIONS, DRAW_METHODS, STRATA_BY
from app.services.accounts.audit import record_event
from app.services.registry.scope import subtree_ids

# Every stratum keeps at least this many invitations, so that each has a variance.
MINIMUM_PER_STRATUM = 2


class CampaignError(ValueError):
    """A campaign change or draw that is refused; the message says why, with the numbers."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class CampaignSettings:
    """What an administrator chooses for a campaign."""

    code: str
    name: str
    version_id: int
    agency_id: int
    period_start: date
    period_end: date
    strata_by: str = "agency"
    target_half_width: float = 0.05
    design_effect: float = 1.0
    expected_response_rate: float = 0.5
    allocation: str = "proportional"
    budget: int | None = None
    method: str = "srs"
    reminder_days: int = 7

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignSettings:
        """The settings a campaign holds (to fill its form)."""
        return cls(**{name: getattr(campaign, name) for name in cls.__dataclass_fields__})


@dataclass
class Frame:
    """The sampling frame: one entry per dossier, sorted by stratum key then dossier code."""

    dossier_id: np.ndarray
    code: np.ndarray
    completed_on: np.ndarray
    stratum: np.ndarray  # index into keys
    keys: list[str]
    agency_of_key: dict[str, int]
    group_of_key: dict[str, str | None]

    @property
    def population(self) -> np.ndarray:
        """N_h per key."""
        return np.bincount(self.stratum, minlength=len(self.keys))


@dataclass
class StratumPlan:
    """One line of the planner: frame size, what precision needs, what is allocated and expected."""

    key: str
    agency_id: int
    agency_name_vi: str
    agency_name_en: str
    procedure_group: str | None
    population: int
    needed_completes: int
    needed: int
    planned: int
    drawn: int
    expected_completes: float
    expected_half_width: float | None

    def agency_name(self, lang: str) -> str:
        """The agency's name in the page's language."""
        return self.agency_name_vi if lang == "vi" else self.agency_name_en


def _check(settings: CampaignSettings, campaign_id: int | None) -> None:
    """Every rule of the settings; the first broken one raises, naming its field."""
    code = (settings.code or "").strip()
    if not code or len(code) > 32 or not all(c.isalnum() or c in "-_." for c in code):
        raise CampaignError(_("The code must be 1 to 32 letters, digits, '-', '_' or '.'."), field="code")
    taken = db.session.scalar(select(Campaign.id).where(Campaign.code == code))
    if taken is not None and taken != campaign_id:
        raise CampaignError(_("A campaign with the code %(code)s exists already.", code=code), field="code")
    if not (settings.name or "").strip() or len(settings.name) > 200:
        raise CampaignError(_("The name must be 1 to 200 characters."), field="name")
    version = db.session.get(QuestionnaireVersion, settings.version_id)
    if version is None or version.status != "published":
        raise CampaignError(_("Choose a published questionnaire version."), field="version_id")
    if db.session.get(Agency, settings.agency_id) is None:
        raise CampaignError(_("Choose an agency."), field="agency_id")
    if settings.period_end < settings.period_start:
        raise CampaignError(_("The period ends before it starts."), field="period_end")
    _check_design(settings)


def _check_design(settings: CampaignSettings) -> None:
    if not 0 < settings.target_half_width < 1:
        raise CampaignError(_("The target half-width must be between 0 and 100 points."),
                            field="target_half_width")
    if not settings.design_effect >= 1:
        raise CampaignError(_("The design effect must be at least 1."), field="design_effect")
    if not 0 < settings.expected_response_rate <= 1:
        raise CampaignError(_("The expected response rate must be above 0 and at most 100 %."),
                            field="expected_response_rate")
    if settings.budget is not None and settings.budget < 1:
        raise CampaignError(_("The budget must be a positive number of invitations."), field="budget")
    for name, allowed in (("strata_by", STRATA_BY), ("allocation", ALLOCATIONS), ("method", DRAW_METHODS)):
        if getattr(settings, name) not in allowed:
            raise CampaignError(_("Unknown choice for %(field)s.", field=name), field=name)
    if settings.reminder_days < 1:
        raise CampaignError(_("Reminders come at least one day after the invitation."), field="reminder_days")


def create_campaign(settings: CampaignSettings, actor: User | None = None) -> Campaign:
    """A new campaign in planning (audited); the caller commits."""
    _check(settings, None)
    campaign = Campaign(**{**vars(settings), "code": settings.code.strip(), "name": settings.name.strip()},
                        status="planning")
    db.session.add(campaign)
    db.session.flush()
    record_event(actor, "campaigns.create", campaign.code)
    return campaign


def update_campaign(campaign: Campaign, settings: CampaignSettings, actor: User | None = None) -> Campaign:
    """Change a campaign's settings while it is being planned; its plan is then out of date."""
    _require_planning(campaign)
    _check(settings, campaign.id)
    for name, value in vars(settings).items():
        setattr(campaign, name, value.strip() if isinstance(value, str) else value)
    # A plan made with other settings would mislead the draw: it is made again.
    db.session.execute(delete(CampaignStratum).where(CampaignStratum.campaign_id == campaign.id))
    db.session.expire(campaign, ["strata"])
    record_event(actor, "campaigns.update", campaign.code)
    return campaign


def _require_planning(campaign: Campaign) -> None:
    if campaign.status != "planning":
        raise CampaignError(_("Campaign %(code)s is %(status)s: its settings and plan are frozen.",
                              code=campaign.code, status=campaign.status))


def campaign_by_code(code: str) -> Campaign | None:
    """The campaign with this code, or None."""
    return db.session.scalar(select(Campaign).where(Campaign.code == code))


def list_campaigns() -> list[Campaign]:
    """Every campaign, the latest first."""
    return list(db.session.scalars(select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())))


def frame_conditions(campaign: Campaign) -> list:
    """Which dossiers make a campaign's frame: its agency's subtree, completed within its period."""
    return [Dossier.agency_id.in_(sorted(subtree_ids(campaign.agency_id))),
            Dossier.completed_on >= campaign.period_start, Dossier.completed_on <= campaign.period_end]


def build_frame(campaign: Campaign) -> Frame:
    """The dossiers completed in the campaign's period in its agency's subtree, with their strata."""
    rows = db.session.execute(
        select(Dossier.id, Dossier.code, Dossier.completed_on, Dossier.agency_id, Agency.code,
               Dossier.procedure_group)
        .join(Agency, Agency.id == Dossier.agency_id)
        .where(*frame_conditions(campaign))
        .order_by(Dossier.code)).all()
    by_group = campaign.strata_by == "agency_procedure_group"
    keys_of_rows = [f"{agency}/{group or '-'}" if by_group else agency for *_, agency, group in rows]
    keys = sorted(set(keys_of_rows))
    index = {key: i for i, key in enumerate(keys)}
    stratum = np.array([index[k] for k in keys_of_rows], dtype=np.int64)
    order = np.lexsort((np.array([r[1] for r in rows], dtype=str), stratum)) if rows else np.array([], int)
    agency_of_key = {k: r[3] for k, r in zip(keys_of_rows, rows, strict=True)}
    group_of_key = {k: (r[5] or None) if by_group else None for k, r in zip(keys_of_rows, rows, strict=True)}
    return Frame(
        dossier_id=np.array([r[0] for r in rows], dtype=np.int64)[order],
        code=np.array([r[1] for r in rows], dtype=str)[order] if rows else np.array([], dtype=str),
        completed_on=np.array([r[2].isoformat() for r in rows], dtype=str)[order] if rows
        else np.array([], dtype=str),
        stratum=stratum[order], keys=keys, agency_of_key=agency_of_key, group_of_key=group_of_key)


def plan_campaign(campaign: Campaign, actor: User | None = None) -> list[StratumPlan]:
    """(Re)plan a campaign in planning: one stratum row per key of its frame, sample allocated."""
    _require_planning(campaign)
    frame = build_frame(campaign)
    if not frame.keys:
        raise CampaignError(_("No dossier was completed between %(start)s and %(end)s in this agency's "
                              "subtree: the frame is empty.", start=campaign.period_start.isoformat(),
                              end=campaign.period_end.isoformat()))
    try:
        plan = plan_strata(frame.population, half_width=campaign.target_half_width,
                           design_effect=campaign.design_effect,
                           response_rate=campaign.expected_response_rate, method=campaign.allocation,
                           budget=campaign.budget, minimum=MINIMUM_PER_STRATUM)
    except SamplingError as error:
        raise CampaignError(_sampling_message(error, frame.keys, campaign.budget)) from error
    db.session.execute(delete(CampaignStratum).where(CampaignStratum.campaign_id == campaign.id))
    for h, key in enumerate(frame.keys):
        db.session.add(CampaignStratum(
            campaign_id=campaign.id, key=key, agency_id=frame.agency_of_key[key],
            procedure_group=frame.group_of_key[key], population=int(plan.population[h]),
            planned=int(plan.allocated[h]), drawn=0))
    db.session.flush()
    db.session.expire(campaign, ["strata"])
    record_event(actor, "campaigns.plan", campaign.code, strata=len(frame.keys), planned=plan.total,
                 needed=plan.total_needed)
    return plan_rows(campaign)


def _sampling_message(error: SamplingError, keys: list[str], budget: int | None) -> str:
    """The user's-language message of an analysis.sampling refusal."""
    if error.stratum is not None and error.population == 0:
        return _("Stratum %(key)s has no dossiers in the frame.", key=keys[error.stratum])
    if error.stratum is not None:
        return _("Stratum %(key)s holds %(population)d dossiers; %(requested)d cannot be drawn.",
                 key=keys[error.stratum], population=error.population, requested=error.requested)
    if budget is not None:
        return _("A budget of %(budget)d invitations is below the minimum of %(minimum)d per stratum "
                 "(%(strata)d strata).", budget=budget, minimum=MINIMUM_PER_STRATUM, strata=len(keys))
    return str(error)


def plan_rows(campaign: Campaign) -> list[StratumPlan]:
    """The planner's lines of a campaign's strata (needed sizes recomputed from the stored N_h)."""
    strata = list(db.session.scalars(select(CampaignStratum).where(CampaignStratum.campaign_id == campaign.id)
                                     .order_by(CampaignStratum.key)))
    if not strata:
        return []
    population = np.array([s.population for s in strata])
    completes, needed = sample_size(population, campaign.target_half_width,
                                    design_effect=campaign.design_effect,
                                    response_rate=campaign.expected_response_rate)
    planned = np.array([s.drawn if campaign.status != "planning" else s.planned for s in strata])
    half = expected_half_width(population, planned, design_effect=campaign.design_effect,
                               response_rate=campaign.expected_response_rate)
    agencies = {a.id: a for a in db.session.scalars(select(Agency).where(
        Agency.id.in_({s.agency_id for s in strata})))}
    return [StratumPlan(
        key=s.key, agency_id=s.agency_id, agency_name_vi=agencies[s.agency_id].name_vi,
        agency_name_en=agencies[s.agency_id].name_en, procedure_group=s.procedure_group,
        population=s.population, needed_completes=int(completes[h]), needed=int(needed[h]),
        planned=s.planned, drawn=s.drawn,
        expected_completes=float(s.planned * campaign.expected_response_rate),
        expected_half_width=None if np.isnan(half[h]) else float(half[h]))
        for h, s in enumerate(strata)]


def version_choices() -> list[tuple[int, str]]:
    """Published questionnaire versions as (id, "code vN"), newest first within each questionnaire."""
    from app.models import Questionnaire

    rows = db.session.execute(
        select(QuestionnaireVersion.id, Questionnaire.code, QuestionnaireVersion.version)
        .join(Questionnaire, Questionnaire.id == QuestionnaireVersion.questionnaire_id)
        .where(QuestionnaireVersion.status == "published")
        .order_by(Questionnaire.code, QuestionnaireVersion.version.desc())).all()
    return [(row.id, f"{row.code} v{row.version}") for row in rows]
