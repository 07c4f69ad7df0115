"""Admin home and the navigation every admin page shows."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.admin import bp
from app.services.registry import may
from app.web.guards import requires

ROLE_NAMES = {
    "administrator": _l("administrator"),
    "designer": _l("questionnaire designer"),
    "manager": _l("agency manager"),
    "leader": _l("leader (reports only)"),
    "handler": _l("case handler (answers citizens)"),
    "enumerator": _l("enumerator (survey interviews)"),
}

# (endpoint, label, capability), in menu order.
NAV = (
    ("admin.index", _l("Administration"), "admin"),
    ("admin.agencies", _l("Agencies"), "counters"),
    ("admin.counters", _l("Counters"), "counters"),
    ("admin.services", _l("Services"), "services"),
    ("admin.questionnaires", _l("Questionnaires"), "questionnaires"),
    ("admin.responses", _l("Responses"), "responses"),
    ("admin.cases", _l("Cases"), "cases"),
    ("admin.interviews", _l("Interviews"), "interviews"),
    ("admin.dossiers", _l("Dossier lists"), "dossiers"),
    ("admin.campaigns", _l("Survey campaigns"), "campaigns"),
    ("admin.volumes", _l("Dossier volumes"), "volumes"),
    ("admin.totals", _l("National roll-up"), "national"),
    ("reports.index", _l("Reports"), "reports"),
    ("admin.users", _l("Accounts"), "users"),
    ("admin.audit", _l("Audit log"), "audit"),
)


@bp.app_context_processor
def _inject_nav() -> dict:
    def admin_nav() -> list[tuple[str, str]]:
        if not current_user.is_authenticated:
            return []
        views = current_app.view_functions
        national = current_app.config.get("INSTALLATION_LEVEL") == "national"
        return [(e, label) for e, label, cap in NAV if e in views and may(current_user, cap)
                and (national or cap != "national")]

    def admin_may(capability: str) -> bool:
        return current_user.is_authenticated and may(current_user, capability)

    return {"admin_nav": admin_nav, "admin_may": admin_may, "role_names": ROLE_NAMES}


@bp.get("/")
@requires("admin")
def index():
    """What this account can administer."""
    return render_template("admin/index.html")
