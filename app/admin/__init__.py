"""Admin blueprint: agencies, counters, QR posters, questionnaire designer, users, imports.

Every route is guarded by app.web.guards.requires (role) and, for anything that
belongs to an agency, ensure_scope (the user's agency subtree), on the server.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__, static_folder="static", static_url_path="/static")

from app.admin import (  # noqa: E402,F401  (routes attach to bp)
    views_campaigns,
    views_cases,
    views_designer,
    views_dossiers,
    views_home,
    views_invitations,
    views_org,
    views_qr,
    views_responses,
    views_review,
    views_totals,
    views_users,
    views_volumes,
)
