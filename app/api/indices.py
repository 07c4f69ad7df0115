"""GET /api/v1/indices: FORMATS.md §4 records for other systems, authenticated by API token.

Same filters as the report pages; the account needs the "reports" role and
sees only its agency subtree. Described in api/openapi.yaml.
"""

from __future__ import annotations

from flask import jsonify, request

from app.api import bp
from app.api.auth import api_error, bearer_user
from app.services import reports as rs
from app.services.report_api import BY_CHOICES, agency_id_for_code, api_indices
from app.services.scope import in_scope, may


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
    tree = rs.load_tree()
    code = request.args.get("agency")
    root = agency_id_for_code(tree, code) if code else rs.default_root(user)
    if root is None:
        message = f"unknown agency {code!r}" if code else "this account has no agency"
        return api_error(404, "not_found", message)
    if not in_scope(user, root):
        return api_error(403, "forbidden", "the agency is outside this account's scope")
    return jsonify(api_indices(root, rs.ReportFilters.from_args(request.args), by))
