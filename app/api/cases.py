"""GET /api/v1/cases: per agency in the token holder's scope, cases opened, answered, answered on time,
overdue, the median days to answer and the citizens' satisfaction with the answers (issue 18)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import jsonify, request

from app.api import bp
from app.services.cases import case_stats_for
from app.services.registry import may
from app.web.tokens import api_error, bearer_user


def _day(name: str) -> datetime | None:
    text = request.args.get(name, "")
    if not text:
        return None
    return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)


@bp.get("/cases")
def cases_stats():
    """Case figures per agency; ?from=YYYY-MM-DD&to=YYYY-MM-DD (opened in [from, to))."""
    user = bearer_user()
    if user is None:
        return api_error(401, "unauthorized", "send Authorization: Bearer <API token>")
    if not may(user, "reports"):
        return api_error(403, "forbidden", "this account may not read reports")
    try:
        start, end = _day("from"), _day("to")
    except ValueError:
        return api_error(400, "bad_request", "from and to are dates, YYYY-MM-DD")
    rows = case_stats_for(user, start, end, lang="en" if request.args.get("lang") == "en" else "vi")
    return jsonify(agencies=rows)
