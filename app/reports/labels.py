"""Words, not codes, on the report pages: estimate flags, channels and the number of decimals.

Every flag an estimate can carry (analysis.intervals, analysis.estimate,
analysis.reporting) has a short label and a sentence for the legend, in the
page's language. Unknown flags (a future analysis version) still show, as they are.
"""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import gettext, lazy_gettext

from app.reports import bp

_RULE = re.compile(r"^(n|cv)([<>])([0-9.]+)$")

# flag -> (short label, legend sentence)
FLAGS = {
    "lonely-psu": (lazy_gettext("single unit in a stratum"),
                   lazy_gettext("A stratum has only one sampled unit (counter-week); its variance is "
                                "estimated conservatively.")),
    "se=0": (lazy_gettext("no variation"),
             lazy_gettext("All answers are alike, so the standard error is zero; the interval is a point.")),
    "df<1": (lazy_gettext("too few units for an interval"),
             lazy_gettext("Fewer than two sampled units: no interval can be estimated (shown as 0–100).")),
    "n<2": (lazy_gettext("fewer than 2 responses"),
            lazy_gettext("Fewer than two responses: no interval can be estimated (shown as 0–100).")),
    "p=0": (lazy_gettext("nobody satisfied"), lazy_gettext("No respondent was satisfied (0 %).")),
    "p=100": (lazy_gettext("everybody satisfied"), lazy_gettext("Every respondent was satisfied (100 %).")),
    "empty": (lazy_gettext("no answers"), lazy_gettext("Nobody answered: there is no estimate.")),
}


def flag_label(flag: str) -> str:
    """A flag in the page's language ('n<30' → 'fewer than 30 responses')."""
    rule = _RULE.match(flag)
    if rule and rule.group(1) == "n":
        return gettext("fewer than %(n)s responses", n=rule.group(3))
    if rule:
        return gettext("imprecise (CV above %(cv)s)", cv=rule.group(3))
    label = FLAGS.get(flag)
    return str(label[0]) if label else flag


def flag_legend(min_n: int, max_cv: float) -> list[tuple[str, str]]:
    """(label, meaning) of every flag, for the legend under the tables."""
    rules = [
        (flag_label(f"n<{min_n}"),
         gettext("Fewer than %(n)s responses: read with care; not drawn as a point on trends, not "
                 "published on the scoreboard.", n=min_n)),
        (flag_label(f"cv>{max_cv:g}"),
         gettext("The coefficient of variation (standard error ÷ estimate) is above %(cv)s: the estimate "
                 "is imprecise.", cv=f"{max_cv:g}")),
    ]
    return rules + [(str(short), str(long)) for short, long in FLAGS.values()]


def channel_labels() -> dict[str, str]:
    """How each response channel is called on the pages."""
    return {"qr": gettext("QR code (own phone)"), "kiosk": gettext("Kiosk at the counter"),
            "paper": gettext("Paper questionnaire"), "online": gettext("Online"),
            "import": gettext("Imported")}


def report_decimals() -> int:
    """Decimals of the published figures (REPORT_DECIMALS, default 2 as SIPAS publishes)."""
    value = current_app.config.get("REPORT_DECIMALS", 2)
    try:
        return max(0, min(int(value), 4))
    except (TypeError, ValueError):
        return 2


@bp.app_template_filter("local_time")
def _local_time(when) -> str:
    """An aware instant as 'YYYY-MM-DD HH:MM' in TIMEZONE."""
    from zoneinfo import ZoneInfo

    return when.astimezone(ZoneInfo(current_app.config.get("TIMEZONE") or "Asia/Ho_Chi_Minh")).strftime(
        "%Y-%m-%d %H:%M")


@bp.app_template_filter("flag_label")
def _flag_label_filter(flag: str) -> str:
    return flag_label(flag)


@bp.context_processor
def _labels() -> dict:
    from app.services.reports import current_month
    from app.services.reports import estimates as rs

    return {"decimals": report_decimals(), "channel_labels": channel_labels(),
            "current_month": current_month(),
            "flag_legend": flag_legend(rs.RULES.min_n, rs.RULES.max_cv), "rules": rs.RULES}
