"""The citizen's side of an invitation: open it, answer once, or decline.

Answering stores the response and marks the sample in one transaction: the sample is claimed first
(an UPDATE that succeeds only while it holds no response), so two posts of the same form, or a form
and an enumerator's interview at once, store one response; the loser is told the dossier is answered.
The response carries the sample's key in the unique `response.dossier_key` as a second guard.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from analysis.questionnaire import Questionnaire
from app.extensions import db
from app.inputs import id_number
from app.models import RATING_SLOTS, Agency, CampaignSample, slot_column
from app.models.base import utcnow
from app.services.collect.submit import PublishedVersion, parse_answers, published_version
from app.services.exchange.responses_csv import interview_instant
from app.services.reports import cells as report_cells
from app.services.reports.aggregates import report_timezone

# Every rating slot, so that the row names them all (an unanswered slot is empty).
_NO_RATINGS = {slot_column(slot): None for slot in range(1, RATING_SLOTS + 1)}
# Outcomes an opening may move on from (answered and refused are final for the opening).
_BEFORE_OPENED = ("pending", "invited", "delivered", "bounced")


def sample_key(sample: CampaignSample) -> str:
    """The sample's key in `response.dossier_key`: never like a receipt's ('<agency id>:<dossier>')."""
    return f"campaign:{sample.campaign_id}:{sample.id}"


@dataclass(frozen=True)
class Invitation:
    """What an invitation's page shows: the campaign's questionnaire for the dossier's agency."""

    sample: CampaignSample
    version: PublishedVersion
    agency: Agency

    @property
    def questionnaire(self) -> Questionnaire:
        """The parsed questionnaire of the campaign's version."""
        return self.version.questionnaire

    @property
    def answered(self) -> bool:
        """Whether the sampled dossier has its response already."""
        return self.sample.response_id is not None


def invitation_for(sample: CampaignSample) -> Invitation | None:
    """The sample's invitation, or None when the campaign's version is not published."""
    version = published_version(sample.campaign.version_id)
    if version is None:
        return None
    return Invitation(sample, version, sample.dossier.agency)


def open_invitation(sample: CampaignSample, now: datetime | None = None) -> None:
    """Record the first opening of the invitation (outcome at least 'opened'); commits."""
    if sample.opened_at is None:
        sample.opened_at = now or utcnow()
        if sample.outcome in _BEFORE_OPENED:
            sample.outcome = "opened"
        db.session.commit()


def refuse_invitation(sample: CampaignSample, now: datetime | None = None) -> bool:
    """Record that the holder declines; False when the dossier was answered already. Commits."""
    if sample.response_id is not None:
        return False
    now = now or utcnow()
    sample.refused_at = sample.refused_at or now
    sample.opened_at = sample.opened_at or now
    sample.outcome = "refused"
    db.session.commit()
    return True


@dataclass
class InvitationOutcome:
    """What became of an answer: 'stored', 'answered' (the dossier had its response already),
    'invalid' (see errors) or 'outdated' (the form showed another version)."""

    status: str
    errors: dict[str, str] = field(default_factory=dict)
    response_id: int | None = None

    @property
    def thanked(self) -> bool:
        """Whether a response stands behind the dossier now."""
        return self.status in ("stored", "answered")


@dataclass(frozen=True)
class Interviewed:
    """How an enumerator's interview was made (None for the citizen's own online answer)."""

    day: date | None
    mode: str
    enumerator: str


def submit_invitation(sample: CampaignSample, version_id: str, raw: Mapping[str, list[str]],
                      now: datetime | None = None, interview: Interviewed | None = None,
                      check_only: bool = False) -> InvitationOutcome:
    """Check the answers against the campaign's version and store them as the sample's response, once.

    Online answers are channel 'online'; an enumerator's are channel 'paper' with the interview's day,
    mode and enumerator. The response's agency is the dossier's, its stratum the sample's stratum key,
    its weight the design weight 1/π. Commits when stored; `check_only` checks and stores nothing."""
    invitation = invitation_for(sample)
    if invitation is None or id_number(version_id) != invitation.version.id:
        return InvitationOutcome("outdated")
    if sample.response_id is not None:
        return InvitationOutcome("answered")
    parsed = parse_answers(invitation.questionnaire, raw)
    if parsed.errors or check_only:
        return InvitationOutcome("invalid" if parsed.errors else "checked", parsed.errors)
    now = now or utcnow()
    dossier = sample.dossier
    submitted_at = now
    if interview is not None and interview.day is not None:
        submitted_at = interview_instant(interview.day, ZoneInfo(report_timezone()))
    row = {
        "uid": uuid.uuid4().hex,
        "nonce": None,
        "dossier_key": sample_key(sample),
        "version_id": invitation.version.id,
        "agency_id": dossier.agency_id,
        "service_point_id": dossier.service_point_id,
        "service_id": dossier.service_id,
        "channel": "online" if interview is None else "paper",
        "submitted_at": submitted_at,
        "received_at": now,
        "stratum": sample.stratum.key[:64],
        "psu": None,
        "weight": 1.0 / sample.inclusion_probability,
        "verified": True,
        "assisted": interview is not None,
        "suspicious": False,
        "flags": None,
        "client_hash": None,
        "answers": parsed.answers,
        "campaign_id": sample.campaign_id,
        "interview_date": interview.day if interview else None,
        "interview_mode": interview.mode if interview else None,
        "enumerator": interview.enumerator[:64] if interview else None,
        **_NO_RATINGS,
        **parsed.ratings,
    }
    sample_id = sample.id
    try:
        claimed = db.session.execute(
            update(CampaignSample)
            .where(CampaignSample.id == sample_id, CampaignSample.response_id.is_(None))
            .values(outcome="answered", answered_at=now)
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            db.session.rollback()
            return InvitationOutcome("answered")
        response_id = report_cells.insert_counted(row["version_id"], row)
        db.session.execute(update(CampaignSample).where(CampaignSample.id == sample_id)
                           .values(response_id=response_id).execution_options(synchronize_session=False))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # a twin stored the dossier's response meanwhile
        return InvitationOutcome("answered")
    except BaseException:
        db.session.rollback()
        raise
    db.session.expire(sample)
    return InvitationOutcome("stored", response_id=response_id)


__all__ = ["Invitation", "InvitationOutcome", "Interviewed", "invitation_for", "open_invitation",
           "refuse_invitation", "sample_key", "submit_invitation"]
