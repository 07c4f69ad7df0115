"""Due dates: working days (Monday to Friday, less listed holidays) in the platform's time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def parse_holidays(text: str) -> frozenset[date]:
    """CASE_HOLIDAYS: ISO dates separated by commas or spaces (public holidays are not working days)."""
    days = set()
    for item in text.replace(",", " ").split():
        days.add(date.fromisoformat(item))
    return frozenset(days)


def add_working_days(start: date, days: int, holidays: frozenset[date] = frozenset()) -> date:
    """The date `days` working days after `start` (Saturdays, Sundays and holidays do not count)."""
    current, counted = start, 0
    while counted < days:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            counted += 1
    return current


def due_date(opened_at: datetime, working_days: int, tz_name: str,
             holidays: frozenset[date] = frozenset()) -> datetime:
    """When a case opened at `opened_at` must be answered: the end of the local day `working_days`
    working days later (a case opened on Friday evening with 1 day is due on Monday, 23:59:59)."""
    zone = ZoneInfo(tz_name)
    local_day = opened_at.astimezone(zone).date()
    due_day = add_working_days(local_day, working_days, holidays)
    return datetime.combine(due_day, time(23, 59, 59), zone)
