"""GET /api/v1/indices: FORMATS.md §4 records for other systems, authenticated by API token.

Same filters as the report pages; the account needs the "reports" role and
sees only its agency subtree. Described in api/openapi.yaml.
"""

from __future__ import annotations

import re

from flask import jsonify, request

from app.api import bp
from app.services.registry import in_scope, may
from app.services.reports import BY_CHOICES, agency_id_for_code, api_indices
from app.services.reports import estimates as rs
from app.web.tokens import api_error, bearer_user

# api/openapi.yaml: months of 1900-2999 (the report pages' date arithmetic fails near years 0 and 9999),
# service ids that fit the database's integer column.
MONTH = re.compile(r"(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])")
MAX_SERVICE_ID = 2**31 - 1


def _query_error(args) -> str | None:
    """Why the query cannot be answered: a value the API file rules out that would fail below, or None.

    An empty value means the default, as on the report pages.
    """
    if any("\x00" in value for _, value in args.items(multi=True)):
        return "query values cannot contain NUL bytes"  # PostgreSQL refuses them in a query
    for name in ("start", "end"):
        if args.get(name) and not MONTH.fullmatch(args[name]):
            return f"{name} must be a month YYYY-MM from 1900-01 to 2999-12"
    service = args.get("service")
    if service and not (service.isascii() and service.isdigit() and 1 <= int(service) <= MAX_SERVICE_ID):
        return f"service must be a service id from 1 to {MAX_SERVICE_ID}"
    return None


@bp.get("/indices")
def indices():
    """Indices of an agency's scope (or per unit below it, or per month) with intervals and flags."""
    user = bearer_user()
    if user is None:
        return api_error(401, "unauthorized", "send Authorization: Bearer <API token>")
    if not may(user, "reports"):
        return api_error(403, "forbidden", "this account may not read reports")
    by = request.args.get("by", "")
    if by not in BY_CHOICES:
        return api_error(400, "bad_request", "by must be empty, agency or month")
    error = _query_error(request.args)
    if error:
        return api_error(400, "bad_request", error)
    invalid = rs.ReportFilters.invalid(request.args)
    if invalid:
        names = ", ".join(invalid)
        return api_error(400, "bad_request", f"these filters have a value that is not allowed: {names}")
    tree = rs.load_tree()
    code = request.args.get("agency")
    root = agency_id_for_code(tree, code) if code else rs.default_root(user)
    if root is None:
        message = f"unknown agency {code!r}" if code else "this account has no agency"
        return api_error(404, "not_found", message)
    if not in_scope(user, root):
        return api_error(403, "forbidden", "the agency is outside this account's scope")
    return jsonify(api_indices(root, rs.ReportFilters.from_args(request.args), by))
