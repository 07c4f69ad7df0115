"""Aggregates computed by the database: per-group sums for every rating criterion.

One sequential scan of `response` yields, for each group (e.g. agency, or
agency × stratum × PSU for design-based variances), the weighted and unweighted
counts of answered and satisfied ratings and the rating sums per criterion.
These are the per-PSU totals the `analysis` package turns into indices.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
from flask import current_app, has_app_context
from sqlalchemy import Integer, String, and_, case, cast, event, func, literal, literal_column, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from analysis.questionnaire import Questionnaire
from app.extensions import db
from app.models import Response, slot_column
from app.services.questionnaires.versions import rating_slots

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-/]{0,63}")


def report_timezone() -> str:
    """The configured TIMEZONE (months and date filters are cut there), checked to be a real zone."""
    name = (current_app.config.get("TIMEZONE") if has_app_context() else None) or DEFAULT_TIMEZONE
    if not _ZONE_NAME.fullmatch(name):
        raise ValueError(f"TIMEZONE {name!r} is not a time zone name")
    ZoneInfo(name)  # raises for an unknown zone
    return name


def local_month_of(when: datetime, tz_name: str | None = None) -> str:
    """'YYYY-MM' of an aware instant in the report time zone."""
    return when.astimezone(ZoneInfo(tz_name or report_timezone())).strftime("%Y-%m")


def current_month() -> str:
    """This month ('YYYY-MM') in the report time zone."""
    return local_month_of(datetime.now(UTC))


def local_month_start(month: str, tz_name: str | None = None) -> datetime:
    """The first instant (aware, UTC) of a 'YYYY-MM' month in the report time zone."""
    zone = ZoneInfo(tz_name or report_timezone())
    return datetime(int(month[:4]), int(month[5:]), 1, tzinfo=zone).astimezone(UTC)


@functools.cache
def _fixed_offset_minutes(tz_name: str) -> int | None:
    """The zone's offset in minutes when it has not changed since 1976 (no daylight saving), else None."""
    zone = ZoneInfo(tz_name)
    offsets = {datetime(year, month, 1, tzinfo=UTC).astimezone(zone).utcoffset()
               for year in range(1976, 2101) for month in (1, 4, 7, 10)}
    return int(offsets.pop().total_seconds() // 60) if len(offsets) == 1 else None


def _sqlite_local_month(value, tz_name):
    """SQLite's stored UTC text ('YYYY-MM-DD HH:MM:SS[.ffffff]') to the month in tz_name."""
    if value is None:
        return None
    when = datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
    return local_month_of(when, tz_name)


@event.listens_for(Engine, "connect")
def _register_sqlite_month(dbapi_connection, _record):
    # Zones with daylight saving have no fixed offset SQLite's strftime could add.
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("sipas_local_month", 2, _sqlite_local_month, deterministic=True)


class _Month(FunctionElement):
    """'YYYY-MM' of a stored UTC timestamp in a time zone (its second argument, a quoted name)."""

    type = String()
    inherit_cache = True


def _zone_of(element) -> str:
    return list(element.clauses)[1].name.strip("'")


@compiles(_Month)
def _month_sqlite(element, compiler, **kw):
    column = compiler.process(list(element.clauses)[0], **kw)
    zone = _zone_of(element)
    minutes = _fixed_offset_minutes(zone)
    if minutes is None:
        return f"sipas_local_month({column}, '{zone}')"
    return f"strftime('%Y-%m', {column}, '{minutes:+d} minutes')"


@compiles(_Month, "postgresql")
def _month_postgresql(element, compiler, **kw):
    column = compiler.process(list(element.clauses)[0], **kw)
    return f"to_char(timezone('{_zone_of(element)}', {column}), 'YYYY-MM')"


def local_month(column, tz_name: str | None = None) -> _Month:
    """SQL for the 'YYYY-MM' month of a timestamp column in the report time zone."""
    zone = tz_name or report_timezone()
    if not _ZONE_NAME.fullmatch(zone):
        raise ValueError(f"{zone!r} is not a time zone name")
    return _Month(column, literal_column(f"'{zone}'"))


GROUP_COLUMNS = {
    "agency": Response.agency_id,
    "service_point": Response.service_point_id,
    "service": Response.service_id,
    "channel": Response.channel,
    "verified": Response.verified,
    "stratum": Response.stratum,
    "psu": Response.psu,
}


def group_column(name: str):
    """The SQL expression of a grouping key; months in the report time zone."""
    return local_month(Response.submitted_at) if name == "month" else GROUP_COLUMNS[name]


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
    keys = [group_column(name) for name in by]
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
        .where(and_(Response.version_id == version_id, Response.campaign_id.is_(None), *where))
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
    keys = [group_column(name).label(name) for name in by] + [stratum, psu]
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
        .where(and_(Response.version_id == version_id, Response.campaign_id.is_(None), *where))
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
