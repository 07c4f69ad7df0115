"""The cases' figures on the report pages (issue 18): beside element 5 on the overview (per agency of the
scope and period) and the on-time answer rate on the public scoreboard. Template helpers only."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

from app.reports import bp
from app.services.cases import agency_case_stats


def _month_start(month: str, tz: ZoneInfo) -> datetime:
    return datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=tz)


def _after(month: str, tz: ZoneInfo) -> datetime:
    year, number = int(month[:4]), int(month[5:7])
    return datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz)


@bp.app_template_global("case_figures")
def case_figures(scope, lang: str) -> list[dict]:
    """Per agency of a report's scope, the cases opened in its period (months in TIMEZONE)."""
    tz = ZoneInfo(current_app.config.get("TIMEZONE", "UTC"))
    try:
        start, end = _month_start(scope.start, tz), _after(scope.end, tz)
    except (TypeError, ValueError):
        return []
    return agency_case_stats(set(scope.ids), start, end, lang)


@bp.app_template_global("case_on_time_rates")
def case_on_time_rates(lang: str) -> list[dict]:
    """Every agency's on-time answer rate, for the public scoreboard (agencies with cases due only)."""
    return [row for row in agency_case_stats(None, lang=lang) if row["on_time_rate"] is not None]
