"""Responses against dossiers handled, per agency and month: the response rate.

A dossier volume is known for some agency × month pairs only. The rate divides
the responses of exactly those pairs by their dossiers, and says which share of
all responses those pairs hold; responses of agencies or months without volumes
never enter the numerator. A pair with more responses than dossiers cannot be a
rate: it is an anomaly to look into (a wrong volume, or ratings at the wrong
agency), listed apart and left out of the rate, so no headline shows more than
100 %. Months are cut in the configured TIMEZONE, as in every report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.models import Agency, DossierVolume, Response
from app.services.registry.scope import subtree_ids
from app.services.reports.aggregates import local_month

Pair = tuple[int, str]  # (agency id, 'YYYY-MM')


@dataclass(frozen=True)
class Anomaly:
    """An agency-month with more responses than dossiers handled."""

    agency_id: int
    month: str
    responses: int
    dossiers: int


@dataclass(frozen=True)
class Coverage:
    """Responses and dossiers over the agency-months whose volumes are known (anomalies apart)."""

    responses: int = 0
    covered_responses: int = 0
    dossiers: int = 0
    pairs: int = 0
    anomalies: tuple[Anomaly, ...] = field(default_factory=tuple)

    @property
    def rate(self) -> float | None:
        """Responses per 100 dossiers over the covered agency-months (at most 100)."""
        return 100.0 * self.covered_responses / self.dossiers if self.dossiers else None

    @property
    def share(self) -> float | None:
        """Percent of all responses that fall in the covered agency-months."""
        return 100.0 * self.covered_responses / self.responses if self.responses and self.pairs else None


def pair_coverage(responses: Mapping[Pair, int], dossiers: Mapping[Pair, int],
                  pairs: Iterable[Pair] | None = None) -> Coverage:
    """The rate over exactly the pairs with volumes (`pairs`: restrict to these, e.g. a period)."""
    chosen = None if pairs is None else set(pairs)
    keys = set(dossiers) if chosen is None else set(dossiers) & chosen
    total = sum(n for key, n in responses.items() if chosen is None or key in chosen)
    covered = volume = used = 0
    anomalies = []
    for key in sorted(keys):
        n, d = responses.get(key, 0), dossiers[key]
        if n > d:
            anomalies.append(Anomaly(key[0], key[1], n, d))
            continue
        covered, volume, used = covered + n, volume + d, used + 1
    return Coverage(total, covered, volume, used, tuple(anomalies))


def dossiers_by_agency_month(agency_ids: Iterable[int] | None = None) -> dict[Pair, int]:
    """Dossiers per (agency, 'YYYY-MM'): an agency's own total wins over the sum of its counters' rows."""
    own_row = DossierVolume.service_point_id.is_(None)
    query = (select(DossierVolume.agency_id, DossierVolume.month, own_row, func.sum(DossierVolume.dossiers))
             .group_by(DossierVolume.agency_id, DossierVolume.month, own_row))
    if agency_ids is not None:
        query = query.where(DossierVolume.agency_id.in_(sorted(agency_ids)))
    own: dict[Pair, int] = {}
    counters: dict[Pair, int] = {}
    for agency, month, is_own, n in db.session.execute(query).all():
        (own if is_own else counters)[(agency, month.strftime("%Y-%m"))] = int(n)
    return {key: own.get(key, counters.get(key, 0)) for key in set(own) | set(counters)}


def responses_by_agency_month(agency_ids: Iterable[int]) -> dict[Pair, int]:
    """Responses per (agency, month in TIMEZONE); the database groups, a million rows never reach Python."""
    month = local_month(Response.submitted_at)
    rows = db.session.execute(
        select(Response.agency_id, month, func.count())
        .where(Response.agency_id.in_(sorted(agency_ids)), Response.voided_at.is_(None))
        .group_by(Response.agency_id, month)
    ).all()
    return {(agency, m): int(n) for agency, m, n in rows}


@dataclass(frozen=True)
class MonthCoverage:
    """One month of an agency subtree: all its responses and the coverage of the months with volumes."""

    month: date
    responses: int
    coverage: Coverage

    @property
    def dossiers(self) -> int | None:
        """Dossiers of the agency-months with volumes (anomalies apart), None when none is known."""
        return self.coverage.dossiers if self.coverage.pairs else None

    @property
    def rate(self) -> float | None:
        """Responses per 100 dossiers over the agencies with volumes."""
        return self.coverage.rate

    @property
    def share(self) -> float | None:
        """Percent of the month's responses that the volumes cover."""
        return self.coverage.share


def agency_coverage(agency: Agency) -> list[MonthCoverage]:
    """Per month, the responses about an agency's subtree and the rate where dossiers are known."""
    ids = sorted(subtree_ids(agency.id))
    responses, dossiers = responses_by_agency_month(ids), dossiers_by_agency_month(ids)
    months = sorted({m for _, m in responses} | {m for _, m in dossiers})
    out = []
    for month in months:
        pairs = {key for key in set(responses) | set(dossiers) if key[1] == month}
        coverage = pair_coverage(responses, dossiers, pairs)
        out.append(MonthCoverage(date(int(month[:4]), int(month[5:]), 1), coverage.responses, coverage))
    return out
