"""Enumerator mode: face-to-face or phone interviews of sampled dossiers, entered by an enumerator.

An enumerator (role 'enumerator', bound to an agency) sees the sampled dossiers of running campaigns
whose dossier lies in their agency's subtree and that have no response yet. To reach the holder they
see the name and, when the contact is a phone number (channel 'phone' or 'sms') or a postal address
('post'), that contact; never an e-mail address, nor anything of the answered dossiers. Opening a
dossier with its contact is written to the audit log. The answers are stored like an online answer
(app.services.invitations.answering): linked to the sample, once, with channel 'paper', the interview's
day and mode ('face' or 'phone') and the enumerator's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import Campaign, CampaignSample, Dossier, DossierContact, User
from app.services.accounts.audit import record_event
from app.services.exchange.paper import YESNO_KEYS, parse_interview
from app.services.invitations.answering import (
    Interviewed,
    InvitationOutcome,
    refuse_invitation,
    submit_invitation,
)
from app.services.registry.scope import visible_agency_ids

INTERVIEW_MODES = ("face", "phone")
# Contacts an enumerator needs: a number to call, an address to visit.
SHOWN_CHANNELS = ("phone", "sms", "post")


@dataclass(frozen=True)
class InterviewRow:
    """One sampled dossier as the enumerator's list shows it."""

    sample: CampaignSample
    campaign: Campaign
    dossier: Dossier
    name: str
    contact: str
    channel: str


def _scoped(user: User):
    visible = visible_agency_ids(user)
    conditions = [Campaign.status == "drawn", CampaignSample.response_id.is_(None)]
    if visible is not None:
        conditions.append(Dossier.agency_id.in_(visible or {-1}))
    return conditions


def enumerator_samples(user: User, limit: int = 500) -> list[InterviewRow]:
    """The sampled dossiers the user may interview (not answered), by campaign and stratum order."""
    rows = db.session.execute(
        select(CampaignSample, Campaign, Dossier, DossierContact)
        .join(Campaign, Campaign.id == CampaignSample.campaign_id)
        .join(Dossier, Dossier.id == CampaignSample.dossier_id)
        .outerjoin(DossierContact, DossierContact.dossier_id == Dossier.id)
        .where(*_scoped(user))
        .order_by(Campaign.code, CampaignSample.stratum_id, CampaignSample.draw_order)
        .limit(limit)).all()
    return [_row(*row) for row in rows]


def _row(sample, campaign, dossier, contact) -> InterviewRow:
    shown = contact is not None and contact.channel in SHOWN_CHANNELS
    return InterviewRow(sample, campaign, dossier, (contact.name or "") if contact else "",
                        contact.address if shown else "", contact.channel if shown else "")


def interview_sample(user: User, sample_id: int) -> InterviewRow | None:
    """One sampled dossier the user may interview, with its contact (the viewing is audited; caller
    commits), or None."""
    row = db.session.execute(
        select(CampaignSample, Campaign, Dossier, DossierContact)
        .join(Campaign, Campaign.id == CampaignSample.campaign_id)
        .join(Dossier, Dossier.id == CampaignSample.dossier_id)
        .outerjoin(DossierContact, DossierContact.dossier_id == Dossier.id)
        .where(CampaignSample.id == sample_id, *_scoped(user))).first()
    if row is None:
        return None
    found = _row(*row)
    if found.contact:
        record_event(user, "campaign.interview_contact", found.campaign.code, sample=sample_id)
    return found


def typed_answers(questionnaire, fields: Mapping[str, str]) -> dict[str, list[str]]:
    """The answers as typed on the paper entry form (question code -> text), with its short forms
    (y/n, c/k for yes/no; a;b for several choices)."""
    raw = {}
    for question in questionnaire.all_questions():
        text = (fields.get(question.code) or "").strip()
        if question.type == "yesno":
            text = YESNO_KEYS.get(text.lower(), text)
        raw[question.code] = [text]
    return raw


def submit_interview(user: User, sample: CampaignSample, version_id: str, raw: Mapping[str, list[str]],
                     day_text: str, mode: str, today: date | None = None) -> InvitationOutcome:
    """Store an interview's answers as the sample's response (see module doc); commits when stored.
    Errors: the questions' codes, 'interview_date' (required, from 2000 to today) and
    'interview_mode' (face or phone)."""
    interview, problems = parse_interview(day_text, "", mode, today)
    errors = {name: "invalid" for name in problems}
    if interview.day is None and "interview_date" not in errors:
        errors["interview_date"] = "required"
    if interview.mode not in INTERVIEW_MODES:
        errors["interview_mode"] = "required" if not mode else "invalid"
    if errors:
        # The answers are checked too, so that every error shows at once.
        outcome = submit_invitation(sample, version_id, raw, check_only=True)
        return InvitationOutcome("invalid", outcome.errors | errors)
    enumerator = (user.name or user.email)[:64]
    outcome = submit_invitation(sample, version_id, raw,
                                interview=Interviewed(interview.day, interview.mode, enumerator))
    if outcome.status == "stored":
        record_event(user, "campaign.interview", sample.campaign.code, sample=sample.id,
                     response=outcome.response_id)
        db.session.commit()
    return outcome


def record_interview_refusal(user: User, sample: CampaignSample) -> bool:
    """The holder, reached by the enumerator, declines: the sample is 'refused' (audited); False when it
    was answered meanwhile. Commits."""
    if sample.response_id is not None:
        return False
    record_event(user, "campaign.interview_refused", sample.campaign.code, sample=sample.id)
    return refuse_invitation(sample)
