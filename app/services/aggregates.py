"""Aggregates computed by the database: per-group sums for every rating criterion.

One sequential scan of `response` yields, for each group (e.g. agency, or
agency × stratum × PSU for design-based variances), the weighted and unweighted
counts of answered and satisfied ratings and the rating sums per criterion.
These are the per-PSU totals the `analysis` package turns into indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Integer, and_, cast, func, literal, select

from analysis.questionnaire import Questionnaire
from app.extensions import db
from app.models import Response, slot_column
from app.services.questionnaires import rating_slots

GROUP_COLUMNS = {
    "agency": Response.agency_id,
    "service_point": Response.service_point_id,
    "service": Response.service_id,
    "channel": Response.channel,
    "stratum": Response.stratum,
    "psu": Response.psu,
}


@dataclass(frozen=True)
class CriterionTotals:
    """Sums for one group and one criterion (w_rating_sum only when asked for)."""

    group: tuple
    code: str
    answered: int
    w_answered: float
    w_satisfied: float
    w_rating_sum: float | None = None


def _is_satisfied(rating, satisfied: list[int], points: int):
    # A top range like {4, 5} compiles to one comparison, cheaper than IN per row.
    if satisfied == list(range(satisfied[0], points + 1)):
        return rating >= satisfied[0]
    return rating.in_(satisfied)


def criterion_totals(
    version_id: int,
    questionnaire: Questionnaire,
    by: Sequence[str] = ("agency",),
    where: Sequence = (),
    weighted: bool = True,
    rating_sums: bool = False,
) -> list[CriterionTotals]:
    """Per group and criterion: answered count, weighted answered and satisfied sums.

    One scan with three aggregates per criterion (four with `rating_sums`, for the
    mean-score index). A missing weight counts as 1 (FORMATS.md §2); with
    `weighted=False` every response weighs 1.
    """
    slots = rating_slots(questionnaire)
    codes = list(questionnaire.likert_codes())
    satisfied = sorted(questionnaire.scale.satisfied)
    weight = func.coalesce(Response.weight, 1.0) if weighted else literal(1.0)
    keys = [GROUP_COLUMNS[name] for name in by]
    width = 4 if rating_sums else 3
    measures = []
    for code in codes:
        rating = getattr(Response, slot_column(slots[code]))
        is_sat = _is_satisfied(rating, satisfied, questionnaire.scale.points)
        measures += [
            func.count(rating),
            func.sum(weight * cast(rating.is_not(None), Integer)),
            func.sum(weight * cast(is_sat, Integer)),
        ]
        if rating_sums:
            measures.append(func.sum(weight * rating))
    query = (
        select(*keys, *measures)
        .where(and_(Response.version_id == version_id, *where))
        .group_by(*keys)
    )
    out = []
    for row in db.session.execute(query):
        group, values = tuple(row[: len(keys)]), row[len(keys):]
        for i, code in enumerate(codes):
            cell = values[width * i: width * i + width]
            out.append(CriterionTotals(
                group, code, cell[0] or 0, float(cell[1] or 0), float(cell[2] or 0),
                float(cell[3] or 0) if rating_sums else None,
            ))
    return out
