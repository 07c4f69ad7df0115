"""What became of a campaign's invitations, per stratum, and the AAPOR response rate RR1.

Every count but 'sampled' counts the samples that reached a state at some point (its timestamp is set),
so a dossier delivered and then answered counts in both. RR1 = I / ((I + P) + (R + NC + O) + (UH + UO)):
complete interviews over every sampled case whose eligibility is known or unknown. Every sampled
dossier is taken as eligible or of unknown eligibility (the frame holds only dossiers completed in the
period) and partial interviews do not exist (a form is stored whole or not at all), so RR1 is answered
over sampled. docs/METHODOLOGY.md maps our outcomes to AAPOR's dispositions.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy import Integer, and_, case, func, select

from app.extensions import db
from app.models import Campaign, CampaignSample, CampaignStratum


@dataclass
class StratumTracking:
    """One stratum's counts (or the campaign's, with key '')."""

    key: str
    sampled: int = 0
    invited: int = 0
    delivered: int = 0
    bounced: int = 0
    opened: int = 0
    answered: int = 0
    refused: int = 0
    not_contacted: int = 0

    @property
    def rr1(self) -> float | None:
        """AAPOR RR1 as a fraction, None for an empty stratum."""
        return rr1(self.answered, self.sampled)

    def as_dict(self) -> dict:
        """The counts and RR1, for JSON and the command line."""
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"rr1": self.rr1}


def rr1(complete: int, sampled: int) -> float | None:
    """Complete interviews over all sampled cases of known or unknown eligibility."""
    return complete / sampled if sampled else None


def _count(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


def campaign_tracking(campaign: Campaign) -> tuple[list[StratumTracking], StratumTracking]:
    """The counts per stratum (in key order) and for the whole campaign, one query."""
    s = CampaignSample
    answered = s.response_id.isnot(None)
    refused = and_(s.outcome == "refused", s.response_id.is_(None))
    rows = db.session.execute(
        select(CampaignStratum.key, func.count(s.id), _count(s.invited_at.isnot(None)),
               _count(s.delivered_at.isnot(None)), _count(s.bounced_at.isnot(None)),
               _count(s.opened_at.isnot(None)), _count(answered), _count(refused),
               _count(and_(s.invited_at.is_(None), s.response_id.is_(None), s.outcome != "refused")))
        .select_from(CampaignStratum)
        .outerjoin(s, s.stratum_id == CampaignStratum.id)
        .where(CampaignStratum.campaign_id == campaign.id)
        .group_by(CampaignStratum.key)
        .order_by(CampaignStratum.key)).all()
    strata = [StratumTracking(*row) for row in rows]
    total = StratumTracking("")
    for stratum in strata:
        for f in fields(StratumTracking)[1:]:
            setattr(total, f.name, getattr(total, f.name) + getattr(stratum, f.name))
    return strata, total
