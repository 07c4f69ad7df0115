"""The cases' figures for the reports (SIPAS element 5, answering citizens' feedback): per agency, cases
opened, answered on time, overdue, the median time to answer and the citizens' satisfaction with it."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import Agency, Case
from app.models.base import utcnow

OPEN = ("new", "assigned", "in_progress", "reopened")


def _row(cases: list, now: datetime) -> dict:
    answered = [c for c in cases if c.answered_at is not None]
    on_time = [c for c in answered if c.answered_at <= c.due_at]
    overdue = [c for c in cases if c.status in OPEN and c.due_at < now]
    days = [(c.answered_at - c.opened_at).total_seconds() / 86400 for c in answered]
    ratings = [c.answer_rating for c in cases if c.answer_rating is not None]
    return {
        "opened": len(cases),
        "answered": len(answered),
        "on_time": len(on_time),
        "overdue": len(overdue),
        # Of the cases that are due (answered, or past due unanswered): how many were answered on time.
        "on_time_rate": round(100 * len(on_time) / (len(answered) + len(overdue)), 1)
        if answered or overdue else None,
        "median_days": round(statistics.median(days), 1) if days else None,
        "answer_satisfaction": round(statistics.fmean(ratings), 2) if ratings else None,
        "answer_ratings": len(ratings),
    }


def agency_case_stats(agency_ids: set[int] | None, start: datetime | None = None, end: datetime | None = None,
                      lang: str = "vi", now: datetime | None = None) -> list[dict]:
    """One row per agency with cases opened in [start, end) (None: all agencies, all time), by agency code."""
    now = now or utcnow()
    query = select(Case.agency_id, Case.status, Case.opened_at, Case.due_at, Case.answered_at,
                   Case.answer_rating)
    if agency_ids is not None:
        query = query.where(Case.agency_id.in_(agency_ids or {-1}))
    if start is not None:
        query = query.where(Case.opened_at >= start)
    if end is not None:
        query = query.where(Case.opened_at < end)
    by_agency = defaultdict(list)
    for row in db.session.execute(query):
        by_agency[row.agency_id].append(row)
    if not by_agency:
        return []
    agencies = {a.id: a for a in db.session.scalars(select(Agency).where(Agency.id.in_(by_agency)))}
    rows = [{"agency": agencies[a].code, "agency_name": agencies[a].name(lang), **_row(cases, now)}
            for a, cases in by_agency.items()]
    return sorted(rows, key=lambda r: r["agency"])


def on_time_rates(lang: str = "vi") -> dict[str, float | None]:
    """Agency code -> the share of due cases answered on time (for the public scoreboard)."""
    return {row["agency"]: row["on_time_rate"] for row in agency_case_stats(None, lang=lang)}


def case_stats_for(user, start: datetime | None = None, end: datetime | None = None,
                   lang: str = "vi") -> list[dict]:
    """agency_case_stats over the agencies the user may see."""
    from app.services.registry.scope import visible_agency_ids

    return agency_case_stats(visible_agency_ids(user), start, end, lang)
