"""POST /api/v1/receipt-codes: the one-stop system asks for a dossier's signed rating code.

Authenticated by API token; the account needs the "counters" capability
(administrator, or the manager of the counter's agency subtree).
"""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify, request
from sqlalchemy import select

from app.api import bp
from app.extensions import db
from app.models import ServicePoint
from app.services.collect import issue_receipt_code, read_receipt_code
from app.services.registry import in_scope, may, public_base_url
from app.web.tokens import api_error, bearer_user


def _days(body: dict) -> int | None:
    days = body.get("days")
    if days is None:
        return None
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 366:
        raise ValueError("days must be a whole number from 1 to 366")
    return days


@bp.post("/receipt-codes")
def receipt_codes():
    """Issue {"code", "url", "expires_at"} for {"service_point": CODE, "dossier": ID, "days"?: N}."""
    user = bearer_user()
    if user is None:
        return api_error(401, "unauthorized", "send Authorization: Bearer <API token>")
    if not may(user, "counters"):
        return api_error(403, "forbidden", "this account may not issue receipt codes")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("service_point"), str):
        return api_error(400, "bad_request", 'send JSON {"service_point": CODE, "dossier": ID, "days"?: N}')
    counter_code = body["service_point"]
    # No counter code holds a NUL byte, and PostgreSQL refuses one in a query (a 500): none is found.
    counter = None if "\x00" in counter_code else db.session.scalar(
        select(ServicePoint).where(ServicePoint.code == counter_code))
    if counter is None or not counter.active:
        return api_error(404, "not_found", f"no active service point {counter_code!r}")
    if not in_scope(user, counter.agency_id):
        return api_error(403, "forbidden", "the service point is outside this account's scope")
    try:
        days = _days(body)
        code = issue_receipt_code(counter, str(body.get("dossier") or ""),
                                  timedelta(days=days) if days else None)
    except ValueError as exc:
        return api_error(400, "bad_request", str(exc))
    expires = read_receipt_code(code).expires_at
    return jsonify(code=code, url=f"{public_base_url()}/r/{code}", expires_at=expires.isoformat()), 201
