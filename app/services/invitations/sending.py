"""Invitations and reminders by e-mail and SMS, queued in the outbox, and what their delivery tells.

Each message is written to the outbox (app.services.cases.outbox) in the transaction that marks the
sample invited or reminded, and carries the sample's id in its payload; the outbox worker sends it and
calls `record_delivery`: sent is 'delivered' (the mail server or SMS gateway took it), refused for good
(an SMTP 5xx for the address, a gateway 4xx) is 'bounced'. Postal letters are printed instead
(app.services.invitations.letters); contacts by phone are for the enumerators.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from app.extensions import db
from app.models import Campaign, CampaignSample, DossierContact, OutboxMessage
from app.models.base import utcnow
from app.services.invitations.codes import invitation_code, invitation_url
from app.services.invitations.sms import plain_text

QUEUED_CHANNELS = ("email", "sms")
# Invited but not answered, not declined and not bounced: who a reminder goes to.
REMINDED_OUTCOMES = ("invited", "delivered", "opened")


def _email_text(campaign: Campaign, sample: CampaignSample, url: str, reminder: bool) -> tuple[str, str]:
    parts = []
    for lang in ("vi", "en"):
        with force_locale(lang):
            agency = sample.dossier.agency.name(lang)
            lines = [_("Reminder: your opinion still counts.") if reminder else "",
                     _("You were chosen at random among the people whose dossier %(code)s was handled by "
                       "%(agency)s, for the survey “%(name)s”.", code=sample.dossier.code, agency=agency,
                       name=campaign.name),
                     _("Please tell us how it went. It takes a few minutes and your answers are "
                       "confidential:"),
                     url,
                     _("If you do not want to take part, open the link and say so: you will not be "
                       "reminded again."), ""]
            parts.append("\n".join(line for line in lines if line is not None))
    with force_locale("vi"):
        subject = (_("Reminder: survey on your dossier %(code)s", code=sample.dossier.code) if reminder
                   else _("Survey on your dossier %(code)s", code=sample.dossier.code))
    return subject, "\n".join(parts).lstrip("\n")


def _sms_text(sample: CampaignSample, url: str, reminder: bool) -> str:
    with force_locale("vi"):
        text = _("%(agency)s asks your opinion on dossier %(code)s: %(url)s",
                 agency=sample.dossier.agency.code, code=sample.dossier.code, url=url)
        if reminder:
            text = _("Reminder:") + " " + text
    return plain_text(text)


def _queue(campaign: Campaign, sample: CampaignSample, contact: DossierContact, reminder: bool,
           now: datetime) -> None:
    url = invitation_url(invitation_code(sample))
    step = f"remind{sample.reminders + 1}" if reminder else "invite"
    key = f"campaign.{campaign.id}.{step}.{sample.id}"
    if contact.channel == "email":
        subject, body = _email_text(campaign, sample, url, reminder)
    else:
        subject, body = "", _sms_text(sample, url, reminder)
    db.session.add(OutboxMessage(
        key=key, kind=contact.channel, recipient=contact.address, subject=subject[:300], body=body,
        payload={"campaign_sample_id": sample.id}, to_citizen=True, status="pending", attempts=0,
        next_attempt_at=now))


def _with_contacts(campaign: Campaign, *conditions):
    return db.session.execute(
        select(CampaignSample, DossierContact)
        .join(DossierContact, DossierContact.dossier_id == CampaignSample.dossier_id)
        .where(CampaignSample.campaign_id == campaign.id, *conditions)
        .order_by(CampaignSample.id)).all()


def queue_invitations(campaign: Campaign, channel: str | None = None,
                      now: datetime | None = None) -> dict[str, int]:
    """Queue an invitation to every sampled dossier not yet invited whose contact is an e-mail address
    or a phone number for SMS (only `channel`'s when given); commits. How many per channel."""
    if campaign.status != "drawn":
        raise ValueError("campaign not drawn")
    if channel is not None and channel not in QUEUED_CHANNELS:
        raise ValueError(f"{channel!r} is not sent through the outbox (letters are printed: letters_pdf)")
    now = now or utcnow()
    channels = [channel] if channel else list(QUEUED_CHANNELS)
    counts = dict.fromkeys(channels, 0)
    for sample, contact in _with_contacts(campaign, CampaignSample.invited_at.is_(None),
                                          CampaignSample.outcome == "pending",
                                          DossierContact.channel.in_(channels)):
        _queue(campaign, sample, contact, reminder=False, now=now)
        sample.invited_at, sample.channel, sample.outcome = now, contact.channel, "invited"
        counts[contact.channel] += 1
    db.session.commit()
    return counts


def due_conditions(campaign: Campaign, now: datetime) -> tuple:
    """The conditions of a sample owed a reminder at `now` (see reminders_due)."""
    limit = now - timedelta(days=campaign.reminder_days)
    return (CampaignSample.outcome.in_(REMINDED_OUTCOMES), CampaignSample.response_id.is_(None),
            CampaignSample.invited_at <= limit,
            or_(CampaignSample.last_reminded_at.is_(None), CampaignSample.last_reminded_at <= limit))


def reminders_due(campaign: Campaign, now: datetime | None = None,
                  channels: tuple[str, ...] = ("email", "sms", "post")) -> list[CampaignSample]:
    """Samples owed a reminder: invited at least reminder_days ago, not answered, declined or bounced,
    and not reminded within reminder_days."""
    return [sample for sample, _contact in _with_contacts(
        campaign, *due_conditions(campaign, now or utcnow()), DossierContact.channel.in_(channels))]


def record_reminder(sample: CampaignSample, now: datetime) -> None:
    """Count a reminder sent (or printed) now."""
    sample.reminders = (sample.reminders or 0) + 1
    sample.last_reminded_at = now


def queue_reminders(campaign: Campaign, now: datetime | None = None) -> dict[str, int]:
    """Queue a reminder by e-mail or SMS to every sample owed one (see reminders_due); commits. Postal
    reminders are printed with letters_pdf(..., reminders=True). How many per channel."""
    now = now or utcnow()
    counts = dict.fromkeys(QUEUED_CHANNELS, 0)
    for sample, contact in _with_contacts(campaign, *due_conditions(campaign, now),
                                          DossierContact.channel.in_(QUEUED_CHANNELS)):
        _queue(campaign, sample, contact, reminder=True, now=now)
        record_reminder(sample, now)
        counts[contact.channel] += 1
    db.session.commit()
    return counts


def record_delivery(message: OutboxMessage, now: datetime | None = None) -> None:
    """What the outbox worker learned of an invitation or reminder: sent is delivered, failed is bounced.
    In the worker's transaction (it commits)."""
    sample_id = (message.payload or {}).get("campaign_sample_id")
    sample = db.session.get(CampaignSample, sample_id) if sample_id else None
    if sample is None:
        return
    now = now or utcnow()
    if message.status == "sent":
        sample.delivered_at = sample.delivered_at or now
        if sample.outcome == "invited":
            sample.outcome = "delivered"
    elif message.status == "failed":
        sample.bounced_at = sample.bounced_at or now
        if sample.outcome in ("invited", "delivered"):
            sample.outcome = "bounced"


def forget_campaign_messages(campaign: Campaign) -> int:
    """On a campaign's purge: the addresses and texts of its e-mails and SMS are cleared (those still
    pending are dropped as failed) and its codes end (code_hash cleared); caller commits. How many
    messages were cleared."""
    sample_ids = set(db.session.scalars(
        select(CampaignSample.id).where(CampaignSample.campaign_id == campaign.id)))
    cleared = 0
    for message in db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.case_id.is_(None), OutboxMessage.to_citizen.is_(True),
            OutboxMessage.kind.in_(QUEUED_CHANNELS))):
        if (message.payload or {}).get("campaign_sample_id") in sample_ids and message.recipient:
            message.recipient, message.body, message.subject = "", "", ""
            if message.status == "pending":
                message.status, message.last_error = "failed", "campaign purged"
            cleared += 1
    db.session.execute(update(CampaignSample).where(CampaignSample.campaign_id == campaign.id)
                       .values(code_hash=None).execution_options(synchronize_session=False))
    return cleared
