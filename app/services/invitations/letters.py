"""Printable invitation letters: one A4 page per sampled dossier to reach by post or by hand.

A page holds the holder's name and postal address (placed for a windowed envelope), a short invitation
in Vietnamese and English, the QR code of the invitation's address and that address written out. The
code is derived from the sample (app.services.invitations.codes), so letters can be printed again and
the reprint carries the same code. Printing marks the samples invited by post (the first time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Campaign, CampaignSample, DossierContact
from app.models.base import utcnow
from app.services.invitations.codes import invitation_code, invitation_url
from app.services.invitations.sending import due_conditions, record_reminder
from app.services.registry.qr import qr_svg, short_address
from app.services.reports.pdf import font_faces, render_pdf


@dataclass(frozen=True)
class Letter:
    """One page: to whom, where, what it says, and the invitation's QR and address."""

    name: str
    address: str
    dossier: str
    agency: dict[str, str]
    qr: str
    url: str
    # The address as typed, in two lines: the site and path, then the code.
    base: str
    code: str
    texts: dict[str, list[str]]


def post_samples(campaign: Campaign, reminders: bool = False, now: datetime | None = None
                 ) -> list[tuple[CampaignSample, DossierContact]]:
    """The sampled dossiers reached by post, not answered nor declined; with `reminders` only those owed
    a reminder (app.services.invitations.sending.reminders_due)."""
    conditions = (due_conditions(campaign, now or utcnow()) if reminders
                  else (CampaignSample.outcome.notin_(("answered", "refused")),))
    return list(db.session.execute(
        select(CampaignSample, DossierContact)
        .join(DossierContact, DossierContact.dossier_id == CampaignSample.dossier_id)
        .where(CampaignSample.campaign_id == campaign.id, DossierContact.channel == "post", *conditions)
        .order_by(CampaignSample.stratum_id, CampaignSample.draw_order)).all())


def _inline_svg(data: bytes, number: int) -> str:
    # Inline (nothing is fetched), and each page's path with its own id.
    text = data.decode().replace('id="qr-path"', f'id="qr-path-{number}"')
    return text[text.index("<svg"):]


def _texts(campaign: Campaign, sample: CampaignSample, reminder: bool) -> dict[str, list[str]]:
    texts = {}
    for lang in ("vi", "en"):
        with force_locale(lang):
            lines = [_("Reminder: your opinion still counts.")] if reminder else []
            lines += [
                _("You were chosen at random among the people whose dossier %(code)s was handled by "
                  "%(agency)s, for the survey “%(name)s”.", code=sample.dossier.code,
                  agency=sample.dossier.agency.name(lang), name=campaign.name),
                _("Please scan the QR code with your phone's camera, or type the address below, and tell "
                  "us how it went. It takes a few minutes; your answers are confidential and used only "
                  "for statistics."),
            ]
            texts[lang] = lines
    return texts


def letters_pdf(campaign: Campaign, reminders: bool = False,
                now: datetime | None = None) -> tuple[bytes, int]:
    """The letters as one PDF and how many pages; marks the samples invited by post (or, with
    `reminders`, counts a reminder for each); commits."""
    now = now or utcnow()
    letters = []
    rows = post_samples(campaign, reminders, now)
    for number, (sample, contact) in enumerate(rows):
        code = invitation_code(sample)
        url = invitation_url(code)
        letters.append(Letter(
            name=contact.name or "", address=contact.address, dossier=sample.dossier.code,
            agency={lang: sample.dossier.agency.name(lang) for lang in ("vi", "en")},
            qr=_inline_svg(qr_svg(url), number), url=url, base=short_address(url)[:-len(code)], code=code,
            texts=_texts(campaign, sample, reminders)))
        if reminders:
            record_reminder(sample, now)
        elif sample.invited_at is None:
            sample.invited_at, sample.channel = now, "post"
            if sample.outcome == "pending":
                sample.outcome = "invited"
    html = render_template("invitations/letters_pdf.html", letters=letters, fonts=font_faces(),
                           campaign=campaign)
    pdf = render_pdf(html)
    db.session.commit()
    return pdf, len(letters)
