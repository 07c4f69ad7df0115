"""Printable invitation letters: one A4 page per sampled dossier to reach by post or by hand.

A page holds the holder's name and postal address (placed for a windowed envelope), a short invitation
in Vietnamese and English, the QR code of the invitation's address and that address written out. The
code is derived from the sample (app.services.invitations.codes), so letters can be printed again and
the reprint carries the same code. Printing marks the samples invited by post (the first time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import qrcode
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Campaign, CampaignSample, DossierContact
from app.models.base import utcnow
from app.services.invitations.codes import invitation_code, invitation_url
from app.services.invitations.sending import due_conditions, record_reminder
from app.services.registry.qr import short_address
from app.services.reports.pdf import font_faces, render_pdf


class TooManyLetters(Exception):
    """More letters than one download may hold; `count` says how many."""

    def __init__(self, count: int):
        super().__init__(count)
        self.count = count


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


def post_samples(campaign: Campaign, reminders: bool = False, now: datetime | None = None,
                 stratum_id: int | None = None) -> list[tuple[CampaignSample, DossierContact]]:
    """The sampled dossiers reached by post, not answered nor declined (of one stratum when given); with
    `reminders` only those owed a reminder (app.services.invitations.sending.reminders_due)."""
    conditions = (due_conditions(campaign, now or utcnow()) if reminders
                  else (CampaignSample.outcome.notin_(("answered", "refused")),))
    if stratum_id is not None:
        conditions = (*conditions, CampaignSample.stratum_id == stratum_id)
    return list(db.session.execute(
        select(CampaignSample, DossierContact)
        .join(DossierContact, DossierContact.dossier_id == CampaignSample.dossier_id)
        .where(CampaignSample.campaign_id == campaign.id, DossierContact.channel == "post", *conditions)
        .order_by(CampaignSample.stratum_id, CampaignSample.draw_order)).all())


def qr_runs_svg(url: str) -> str:
    """The QR code of a URL as inline SVG with one subpath per run of dark modules in a row: the same
    code as app.services.registry.qr (level M, quiet zone 4), but about half the subpaths, which is what
    WeasyPrint spends its time on when it draws a page (0.06 s a code, 0.04 s in runs)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()
    size, runs = len(matrix), []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < size and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h{start - x}z")
    return (f'<svg viewBox="0 0 {size} {size}" xmlns="http://www.w3.org/2000/svg" role="img">'
            f'<path d="{"".join(runs)}" fill="#000"/></svg>')


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


def letters_pdf(campaign: Campaign, reminders: bool = False, now: datetime | None = None,
                stratum_id: int | None = None, limit: int | None = None) -> tuple[bytes, int]:
    """The letters (of one stratum when given) as one PDF and how many pages; marks the samples invited
    by post (or, with `reminders`, counts a reminder for each); commits. More than `limit` letters raise
    TooManyLetters before anything is laid out or marked (WeasyPrint takes about 0.1 s a page)."""
    now = now or utcnow()
    letters = []
    rows = post_samples(campaign, reminders, now, stratum_id)
    if limit is not None and len(rows) > limit:
        raise TooManyLetters(len(rows))
    for sample, contact in rows:
        code = invitation_code(sample)
        url = invitation_url(code)
        letters.append(Letter(
            name=contact.name or "", address=contact.address, dossier=sample.dossier.code,
            agency={lang: sample.dossier.agency.name(lang) for lang in ("vi", "en")},
            qr=qr_runs_svg(url), url=url, base=short_address(url)[:-len(code)], code=code,
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
