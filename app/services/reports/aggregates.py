"""Aggregates computed by the database: per-group sums for every rating criterion.

One sequential scan of `response` yields, for each group (e.g. agency, or
agency × stratum × PSU for design-based variances), the weighted and unweighted
counts of answered and satisfied ratings and the rating sums per criterion.
These are the per-PSU totals the `analysis` package turns into indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Integer, String, and_, case, cast, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from analysis.questionnaire import Questionnaire
from app.extensions import db
from app.models import Response, slot_column
from app.services.questionnaires.versions import rating_slots


class _Month(FunctionElement):
    """'YYYY-MM' of a UTC timestamp, in each database's own dialect."""

    type = String()
    inherit_cache = True


@compiles(_Month)
def _month_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(_Month, "postgresql")
def _month_postgresql(element, compiler, **kw):
    return f"to_char(timezone('UTC', {compiler.process(element.clauses, **kw)}), 'YYYY-MM')"


GROUP_COLUMNS = {
    "agency": Response.agency_id,
    "service_point": Response.service_point_id,
    "service": Response.service_id,
    "channel": Response.channel,
    "verified": Response.verified,
    "stratum": Response.stratum,
    "psu": Response.psu,
    "month": _Month(Response.submitted_at),
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


def _answered_any(ratings: list) -> object:
    """1 when at least one of the ratings is answered, else 0 (as an SQL expression)."""
    return case((or_(*(r.is_not(None) for r in ratings)), 1), else_=0)


def psu_totals_table(
    version_id: int,
    questionnaire: Questionnaire,
    by: Sequence[str] = ("agency",),
    where: Sequence = (),
    weighted: bool = True,
) -> dict[str, np.ndarray]:
    """The aggregate table of analysis.totals (group × stratum × PSU) computed by the database.

    Column names follow the contract in analysis/totals.py: n, w, K__ws, K__wa, K__wr,
    K__n per criterion, E__n per element and OVERALL__n. A response without a
    stratum falls in one stratum "-"; without a PSU it is its own PSU (FORMATS.md §3).
    """
    slots = rating_slots(questionnaire)
    satisfied = sorted(questionnaire.scale.satisfied)
    weight = func.coalesce(Response.weight, 1.0) if weighted else literal(1.0)
    ratings = {code: getattr(Response, slot_column(slots[code])) for code in questionnaire.likert_codes()}
    stratum = func.coalesce(Response.stratum, "-").label("stratum")
    psu = func.coalesce(Response.psu, "#" + cast(Response.id, String)).label("psu")
    keys = [GROUP_COLUMNS[name].label(name) for name in by] + [stratum, psu]
    measures = [func.count().label("n"), func.sum(weight).label("w")]
    for code, rating in ratings.items():
        is_sat = _is_satisfied(rating, satisfied, questionnaire.scale.points)
        measures += [
            func.sum(weight * cast(is_sat, Integer)).label(f"{code}__ws"),
            func.sum(weight * cast(rating.is_not(None), Integer)).label(f"{code}__wa"),
            func.sum(weight * func.coalesce(rating, 0)).label(f"{code}__wr"),
            func.count(rating).label(f"{code}__n"),
        ]
    for element in questionnaire.elements:
        members = [ratings[q.code] for q in element.questions if q.code in ratings]
        if members:
            measures.append(func.sum(_answered_any(members)).label(f"{element.code}__n"))
    measures.append(func.sum(_answered_any(list(ratings.values()))).label("OVERALL__n"))
    query = (
        select(*keys, *measures)
        .where(and_(Response.version_id == version_id, *where))
        .group_by(*keys[: len(by)], stratum, psu)
    )
    result = db.session.execute(query)
    names = list(result.keys())
    rows = result.all()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    table = {}
    for name, values in zip(names, columns, strict=True):
        if name in by or name in ("stratum", "psu"):
            table[name] = np.array(values, dtype=object)
        else:
            table[name] = np.array([0.0 if v is None else float(v) for v in values])
    return table
