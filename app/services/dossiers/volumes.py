"""Monthly volumes that follow from the dossier list.

Where the list holds dossiers completed in an agency-month, their count is that agency-month's
volume: the import writes it as the agency's own `DossierVolume` row (which wins over its counters'
rows), so the response rates and the post-stratification read it like any typed figure. A figure
typed or imported for such a month is replaced, and the grid and the volumes import refuse to
change it (the list is the source). Months are calendar months of the completion date (a date,
not a time: no time zone moves it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.models import Dossier, DossierVolume


def _counts(agency_ids: Iterable[int], first: date | None = None, last: date | None = None
            ) -> dict[tuple[int, date], int]:
    """Dossiers completed per (agency, first day of month), grouped by day in the database."""
    query = (select(Dossier.agency_id, Dossier.completed_on, func.count())
             .where(Dossier.agency_id.in_(sorted(set(agency_ids))), Dossier.completed_on.is_not(None))
             .group_by(Dossier.agency_id, Dossier.completed_on))
    if first is not None:
        query = query.where(Dossier.completed_on >= first)
    if last is not None:
        query = query.where(Dossier.completed_on <= last)
    out: dict[tuple[int, date], int] = {}
    for agency_id, day, n in db.session.execute(query):
        key = (agency_id, day.replace(day=1))
        out[key] = out.get(key, 0) + int(n)
    return out


def recompute_volumes(pairs: set[tuple[int, date]]) -> int:
    """Set each (agency, month)'s own volume to its dossiers completed that month; returns rows changed.

    A pair that no longer holds any dossier loses its own row (it was the list's figure).
    """
    if not pairs:
        return 0
    agencies = {agency for agency, _ in pairs}
    months = sorted(month for _, month in pairs)
    last = months[-1]
    last_day = date(last.year + (last.month == 12), last.month % 12 + 1, 1)
    counts = _counts(agencies, months[0], last_day)
    stored = {(v.agency_id, v.month): v for v in db.session.scalars(
        select(DossierVolume).where(DossierVolume.agency_id.in_(sorted(agencies)),
                                    DossierVolume.service_point_id.is_(None),
                                    DossierVolume.month >= months[0], DossierVolume.month <= last))}
    changed = 0
    for pair in sorted(pairs):
        n, row = counts.get(pair, 0), stored.get(pair)
        if n and row is None:
            db.session.add(DossierVolume(agency_id=pair[0], service_point_id=None, month=pair[1], dossiers=n))
        elif n and row.dossiers != n:
            row.dossiers = n
        elif not n and row is not None:
            db.session.delete(row)
        else:
            continue
        changed += 1
    db.session.flush()
    return changed


def derived_pairs(agency_ids: Iterable[int]) -> set[tuple[int, date]]:
    """The (agency, month) pairs whose volume comes from the dossier list."""
    return set(_counts(agency_ids))


def derived_months(agency_id: int, year: int) -> set[int]:
    """The months (1-12) of a year whose volume for the agency comes from the dossier list."""
    pairs = _counts([agency_id], date(year, 1, 1), date(year, 12, 31))
    return {month.month for _, month in pairs}
