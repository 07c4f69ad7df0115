"""The dossier list as administrators and managers see it, and the purge of its contacts.

A contact (e-mail, phone, postal address) is personal data: it is read only for an account holding
the "dossier_contact" capability (survey administrators), loaded only then, and deleted when the
campaign that used it is purged, or by date from the command line. Both purges are audited.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Campaign, CampaignSample, Dossier, DossierContact, User
from app.services.accounts.audit import record_event
from app.services.registry.scope import may, subtree_ids, visible_agency_ids


def list_dossiers(user: User, limit: int = 200, agency_id: int | None = None) -> list[Dossier]:
    """The latest dossiers in the user's scope (of one agency's subtree if given); contacts for
    administrators only (others' rows never load them)."""
    query = (select(Dossier).options(joinedload(Dossier.agency), joinedload(Dossier.service_point))
             .order_by(Dossier.completed_on.desc().nulls_last(), Dossier.code).limit(limit))
    if may(user, "dossier_contact"):
        query = query.options(joinedload(Dossier.contact))
    visible = visible_agency_ids(user)
    if visible is not None:
        query = query.where(Dossier.agency_id.in_(sorted(visible)))
    if agency_id is not None:
        query = query.where(Dossier.agency_id.in_(sorted(subtree_ids(agency_id))))
    return list(db.session.scalars(query).unique())


def dossier_counts(user: User) -> dict[str, int]:
    """How many dossiers and contacts the user's scope holds (contacts: a count, never the data)."""
    visible = visible_agency_ids(user)
    dossiers = select(func.count()).select_from(Dossier)
    contacts = select(func.count()).select_from(DossierContact).join(Dossier)
    if visible is not None:
        dossiers = dossiers.where(Dossier.agency_id.in_(sorted(visible)))
        contacts = contacts.where(Dossier.agency_id.in_(sorted(visible)))
    return {"dossiers": db.session.scalar(dossiers) or 0, "contacts": db.session.scalar(contacts) or 0}


def _frame_ids(campaign: Campaign) -> set[int]:
    """The dossiers a campaign's frame holds: its agency's subtree, completed within its period."""
    return set(db.session.scalars(select(Dossier.id).where(
        Dossier.agency_id.in_(sorted(subtree_ids(campaign.agency_id))),
        Dossier.completed_on >= campaign.period_start, Dossier.completed_on <= campaign.period_end)))


def _delete_contacts(ids: set[int]) -> int:
    deleted = 0
    ordered = sorted(ids)
    for start in range(0, len(ordered), 1000):
        result = db.session.execute(delete(DossierContact).where(
            DossierContact.dossier_id.in_(ordered[start:start + 1000])))
        deleted += result.rowcount or 0
    return deleted


def purge_campaign_contacts(campaign: Campaign, actor: User | None = None) -> int:
    """Delete the contacts of the dossiers the campaign sampled, and those of the rest of its frame that
    no other campaign still open (not purged) covers; returns how many were deleted. The caller commits."""
    sampled = set(db.session.scalars(select(CampaignSample.dossier_id)
                                     .where(CampaignSample.campaign_id == campaign.id)))
    needed: set[int] = set()
    others = db.session.scalars(select(Campaign).where(Campaign.id != campaign.id,
                                                       Campaign.status != "purged"))
    for other in others:
        needed |= _frame_ids(other)
    # A sampled holder's contact goes whatever else is open: it was used; the rest of the frame only
    # when no other open campaign may still draw it.
    deleted = _delete_contacts(sampled | (_frame_ids(campaign) - needed))
    db.session.expire_all()
    record_event(actor, "dossiers.purge_contacts", campaign.code, contacts=deleted)
    return deleted


def purge_contacts_before(day: date, actor: User | None = None) -> int:
    """Delete the contacts of every dossier completed before `day`; returns how many. The caller commits."""
    ids = set(db.session.scalars(select(Dossier.id).join(DossierContact)
                                 .where(Dossier.completed_on < day)))
    deleted = _delete_contacts(ids)
    db.session.expire_all()
    record_event(actor, "dossiers.purge_contacts", f"before {day.isoformat()}", contacts=deleted)
    return deleted
