"""Timeliness per agency and month: dossiers completed, on time, late, apologies issued.

A dossier counts in the month of its completion date. On time and late follow the one-stop
system's flag (or, when it gave none, completed <= due, decided at the import); a dossier with
neither a flag nor a due date is completed but neither on time nor late, so the on-time share is
on time / (on time + late). An agency's figures include the agencies below it (the caller passes
the subtree), like every report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func, select

from app.extensions import db
from app.models import Dossier


@dataclass(frozen=True)
class Timeliness:
    """One month's (or a period's) figures; `month` is 'YYYY-MM', or None for a total."""

    month: str | None
    completed: int = 0
    on_time: int = 0
    late: int = 0
    apologies: int = 0

    @property
    def on_time_share(self) -> float | None:
        """Percent of the dossiers with a known deadline outcome that were on time."""
        known = self.on_time + self.late
        return 100.0 * self.on_time / known if known else None

    def __add__(self, other: Timeliness) -> Timeliness:
        return Timeliness(self.month, self.completed + other.completed, self.on_time + other.on_time,
                          self.late + other.late, self.apologies + other.apologies)


def _month_bounds(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    first = date(int(start[:4]), int(start[5:7]), 1) if start else None
    last = None
    if end:
        year, month = int(end[:4]), int(end[5:7])
        last = date(year + (month == 12), month % 12 + 1, 1)
    return first, last


def _rows(agency_ids: Iterable[int], start: str | None, end: str | None, by_agency: bool):
    """One grouped query: per (agency,) day, the counts; days fold into months in Python (portable)."""
    on_time = func.sum(case((Dossier.on_time.is_(True), 1), else_=0))
    late = func.sum(case((Dossier.on_time.is_(False), 1), else_=0))
    keys = [Dossier.agency_id, Dossier.completed_on] if by_agency else [Dossier.completed_on]
    query = (select(*keys, func.count(), on_time, late, func.sum(Dossier.apologies))
             .where(Dossier.agency_id.in_(sorted(set(agency_ids))), Dossier.completed_on.is_not(None))
             .group_by(*keys))
    first, after = _month_bounds(start, end)
    if first is not None:
        query = query.where(Dossier.completed_on >= first)
    if after is not None:
        query = query.where(Dossier.completed_on < after)
    return db.session.execute(query).all()


def timeliness_by_month(agency_ids: Iterable[int], start: str | None = None, end: str | None = None
                        ) -> list[Timeliness]:
    """Per month ('YYYY-MM', oldest first) of completion within [start, end], the agencies' figures."""
    months: dict[str, Timeliness] = {}
    for day, n, ok, late, apologies in _rows(agency_ids, start, end, by_agency=False):
        month = day.strftime("%Y-%m")
        months[month] = months.get(month, Timeliness(month)) + Timeliness(
            month, int(n), int(ok or 0), int(late or 0), int(apologies or 0))
    return [months[m] for m in sorted(months)]


def timeliness_total(months: list[Timeliness]) -> Timeliness:
    """The months added up (month None)."""
    total = Timeliness(None)
    for month in months:
        total = total + month
    return Timeliness(None, total.completed, total.on_time, total.late, total.apologies)


def timeliness_by_agency_month(agency_ids: Iterable[int], start: str | None = None, end: str | None = None
                               ) -> dict[tuple[int, str], Timeliness]:
    """Per (agency, month) the agency's own dossiers (no roll-up): the command line's table."""
    out: dict[tuple[int, str], Timeliness] = {}
    for agency_id, day, n, ok, late, apologies in _rows(agency_ids, start, end, by_agency=True):
        key = (agency_id, day.strftime("%Y-%m"))
        out[key] = out.get(key, Timeliness(key[1])) + Timeliness(
            key[1], int(n), int(ok or 0), int(late or 0), int(apologies or 0))
    return out


@dataclass(frozen=True)
class TimelinessTable:
    """A report's timeliness: per month, the period's total (None when no dossier was completed) and,
    when asked, per reporting unit (an agency under the report's root, with its subtree)."""

    months: list[Timeliness]
    total: Timeliness | None
    units: dict[int, Timeliness] = field(default_factory=dict)


def timeliness_table(agency_ids: Iterable[int], start: str | None = None, end: str | None = None,
                     unit_of: Callable[[int], int | None] | None = None) -> TimelinessTable:
    """The report pages' and the PDF's timeliness of a subtree over [start, end], in one query;
    `unit_of` (agency id -> its unit, or None) adds the figures per unit."""
    if unit_of is None:
        months = timeliness_by_month(agency_ids, start, end)
        return TimelinessTable(months, timeliness_total(months) if months else None)
    by_month: dict[str, Timeliness] = {}
    units: dict[int, Timeliness] = {}
    for (agency_id, month), figures in timeliness_by_agency_month(agency_ids, start, end).items():
        by_month[month] = by_month.get(month, Timeliness(month)) + figures
        unit = unit_of(agency_id)
        if unit is not None:
            units[unit] = units.get(unit, Timeliness(None)) + Timeliness(None, figures.completed,
                                                                         figures.on_time, figures.late,
                                                                         figures.apologies)
    months = [by_month[m] for m in sorted(by_month)]
    return TimelinessTable(months, timeliness_total(months) if months else None, units)
