"""The draw of a planned campaign: a stratified random sample of its frame, reproducible from its seed.

The frame is sorted by stratum and dossier code before drawing (by completion day first for a
systematic draw, an implicit stratification by time), so the sample depends on the seed and the
dossiers only, never on the order the database returns them. Once drawn the campaign is frozen:
its seed, strata sizes and every sampled dossier's inclusion probability n_h/N_h are stored.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from analysis.sampling import SamplingError, draw_sample
from app.extensions import db
from app.models import Campaign, CampaignSample, CampaignStratum, DossierContact, User
from app.models.base import utcnow
from app.services.accounts.audit import record_event
from app.services.campaigns.planning import CampaignError, Frame, build_frame

# Seeds are stored in a signed 64-bit column.
SEED_BITS = 62


@dataclass(frozen=True)
class DrawnDossier:
    """One dossier of a draw, as stored: its stratum, order of selection and inclusion probability."""

    dossier_id: int
    key: str
    draw_order: int
    inclusion_probability: float


@dataclass(frozen=True)
class Verification:
    """A stored draw against the draw repeated from its seed."""

    matches: bool
    stored: int
    repeated: int
    differences: int


def _strata(campaign: Campaign) -> list[CampaignStratum]:
    return list(db.session.scalars(select(CampaignStratum).where(CampaignStratum.campaign_id == campaign.id)
                                   .order_by(CampaignStratum.key)))


def _checked_sizes(frame: Frame, strata: list[CampaignStratum], drawn: bool) -> np.ndarray:
    """n_h per frame key, after checking the frame is the one the plan (or the draw) was made on."""
    if not strata:
        raise CampaignError(_("Plan the campaign before drawing it."))
    population = dict(zip(frame.keys, frame.population.tolist(), strict=True))
    for stratum in strata:
        size = stratum.drawn if drawn else stratum.planned
        now = population.get(stratum.key, 0)
        if now == 0:
            raise CampaignError(_("Stratum %(key)s has no dossiers in the frame.", key=stratum.key))
        if size > now:
            raise CampaignError(_("Stratum %(key)s holds %(population)d dossiers; %(requested)d cannot be "
                                  "drawn.", key=stratum.key, population=now, requested=size))
        if now != stratum.population:
            raise CampaignError(_("The frame changed since the plan: stratum %(key)s had %(planned)d "
                                  "dossiers, it has %(now)d. Plan again.", key=stratum.key,
                                  planned=stratum.population, now=now))
    extra = sorted(set(frame.keys) - {s.key for s in strata})
    if extra:
        raise CampaignError(_("The frame changed since the plan: stratum %(key)s is new. Plan again.",
                              key=extra[0]))
    sizes = {s.key: (s.drawn if drawn else s.planned) for s in strata}
    return np.array([sizes[key] for key in frame.keys], dtype=np.int64)


def _draw(frame: Frame, sizes: np.ndarray, seed: int, method: str) -> list[DrawnDossier]:
    order_key = frame.code
    if method == "systematic":
        # through the frame by completion day within each stratum
        order_key = np.char.add(np.char.add(frame.completed_on, "|"), frame.code)
    try:
        draw = draw_sample(frame.stratum, sizes, np.random.Generator(np.random.PCG64(seed)),
                           order_key=order_key, method=method)
    except SamplingError as error:  # the checks above leave nothing for this, but say it plainly
        raise CampaignError(str(error)) from error
    return [DrawnDossier(int(frame.dossier_id[i]), frame.keys[h], int(o), float(p)) for i, h, o, p in
            zip(draw.index.tolist(), draw.stratum.tolist(), draw.order.tolist(), draw.probability.tolist(),
                strict=True)]


def draw_campaign(campaign: Campaign, seed: int | None = None, actor: User | None = None) -> int:
    """Draw a planned campaign's sample and freeze it; the number of dossiers drawn. The caller commits.

    Without a seed one is chosen at random and recorded; drawing again with it gives the same sample.
    """
    # Two administrators pressing Draw at once: the second waits for the first's row lock (PostgreSQL)
    # and then sees it drawn.
    db.session.refresh(campaign, with_for_update=True)
    if campaign.status != "planning":
        raise CampaignError(_("Campaign %(code)s is drawn already: its sample is frozen.",
                              code=campaign.code))
    if seed is not None and not 0 <= seed < 2 ** 63:
        raise CampaignError(_("The seed must be a whole number from 0 to 2^63 − 1."))
    strata = _strata(campaign)
    frame = build_frame(campaign)
    sizes = _checked_sizes(frame, strata, drawn=False)
    seed = secrets.randbits(SEED_BITS) if seed is None else seed
    drawn = _draw(frame, sizes, seed, campaign.method)
    stratum_id = {s.key: s.id for s in strata}
    if drawn:
        try:
            db.session.execute(insert(CampaignSample), [
                {"campaign_id": campaign.id, "stratum_id": stratum_id[d.key], "dossier_id": d.dossier_id,
                 "draw_order": d.draw_order, "inclusion_probability": d.inclusion_probability,
                 "outcome": "pending", "reminders": 0} for d in drawn])
        except IntegrityError as error:  # SQLite has no row lock: a simultaneous draw got there first
            raise CampaignError(_("Campaign %(code)s is drawn already: its sample is frozen.",
                                  code=campaign.code)) from error
    for stratum, n in zip(strata, sizes.tolist(), strict=True):
        stratum.drawn = n
    campaign.seed = seed
    campaign.status = "drawn"
    campaign.drawn_at = utcnow()
    db.session.flush()
    record_event(actor, "campaigns.draw", campaign.code, seed=str(seed), drawn=len(drawn),
                 method=campaign.method)
    return len(drawn)


def redraw(campaign: Campaign) -> list[DrawnDossier]:
    """The draw repeated in memory from the campaign's recorded seed over its current frame."""
    if campaign.seed is None:
        raise CampaignError(_("Campaign %(code)s has not been drawn.", code=campaign.code))
    frame = build_frame(campaign)
    return _draw(frame, _checked_sizes(frame, _strata(campaign), drawn=True), campaign.seed, campaign.method)


def verify_draw(campaign: Campaign) -> Verification:
    """Whether the stored sample is the one its seed gives (same dossiers, order and probabilities)."""
    stored = {(row.dossier_id, row.draw_order, round(row.inclusion_probability, 12))
              for row in db.session.execute(select(CampaignSample.dossier_id, CampaignSample.draw_order,
                                                   CampaignSample.inclusion_probability)
                                            .where(CampaignSample.campaign_id == campaign.id))}
    repeated = {(d.dossier_id, d.draw_order, round(d.inclusion_probability, 12)) for d in redraw(campaign)}
    differences = len(stored ^ repeated)
    return Verification(differences == 0, len(stored), len(repeated), differences)


def purge_campaign(campaign: Campaign, actor: User | None = None) -> int:
    """Delete the contacts the campaign used and mark it purged (audited); how many contacts went.

    The dossiers package owns the contacts' purge (it keeps those another open campaign may still
    draw); the sample, its outcomes and the answers stay, without any way back to a person.
    """
    if campaign.status == "purged":
        raise CampaignError(_("Campaign %(code)s is purged already.", code=campaign.code))
    if campaign.status == "planning":
        raise CampaignError(_("Campaign %(code)s has no sample yet: nothing to purge.", code=campaign.code))
    from app.services.dossiers import purge_campaign_contacts
    from app.services.invitations import forget_campaign_messages

    deleted = purge_campaign_contacts(campaign, actor)
    # The outbox still holds the invitations' addresses and texts, and the codes would still open.
    messages = forget_campaign_messages(campaign)
    campaign.status = "purged"
    campaign.purged_at = utcnow()
    db.session.flush()
    left = db.session.scalar(select(func.count()).select_from(DossierContact).join(
        CampaignSample, CampaignSample.dossier_id == DossierContact.dossier_id).where(
        CampaignSample.campaign_id == campaign.id))
    record_event(actor, "campaigns.purge", campaign.code, contacts=deleted, left=left, messages=messages)
    return deleted
