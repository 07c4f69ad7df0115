"""Responses against dossiers handled, per agency subtree and month: the response rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.models import Agency, DossierVolume, Response
from app.services.registry.scope import subtree_ids


@dataclass(frozen=True)
class MonthCoverage:
    """Responses and dossiers of one month; rate in percent when dossiers are known."""

    month: date
    responses: int
    dossiers: int | None

    @property
    def rate(self) -> float | None:
        """Responses per 100 dossiers."""
        return 100.0 * self.responses / self.dossiers if self.dossiers else None


def _month_expression():
    # Months in UTC; the database groups, so a million responses never reach Python.
    if db.engine.dialect.name == "postgresql":
        return func.to_char(Response.submitted_at, "YYYY-MM")
    return func.strftime("%Y-%m", Response.submitted_at)


def monthly_responses(agency_ids: list[int]) -> dict[date, int]:
    """Responses per month for a set of agencies."""
    month = _month_expression()
    rows = db.session.execute(
        select(month, func.count()).where(Response.agency_id.in_(agency_ids)).group_by(month)
    ).all()
    return {date(int(m[:4]), int(m[5:7]), 1): n for m, n in rows}


def monthly_dossiers(agency_ids: list[int]) -> dict[date, int]:
    """Dossiers per month: an agency's own total wins over the sum of its counters' rows."""
    rows = db.session.execute(
        select(DossierVolume.agency_id, DossierVolume.month,
               DossierVolume.service_point_id.is_(None), func.sum(DossierVolume.dossiers))
        .where(DossierVolume.agency_id.in_(agency_ids))
        .group_by(DossierVolume.agency_id, DossierVolume.month, DossierVolume.service_point_id.is_(None))
    ).all()
    own = {(a, m): int(n) for a, m, is_own, n in rows if is_own}
    counters = {(a, m): int(n) for a, m, is_own, n in rows if not is_own}
    totals: dict[date, int] = {}
    for key in set(own) | set(counters):
        totals[key[1]] = totals.get(key[1], 0) + own.get(key, counters.get(key, 0))
    return totals


def agency_coverage(agency: Agency) -> list[MonthCoverage]:
    """Per month, the responses about an agency's subtree and the dossiers it handled."""
    ids = sorted(subtree_ids(agency.id))
    responses, dossiers = monthly_responses(ids), monthly_dossiers(ids)
    months = sorted(set(responses) | set(dossiers))
    return [MonthCoverage(m, responses.get(m, 0), dossiers.get(m)) for m in months]
