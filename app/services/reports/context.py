"""What every report page shows around its content: breadcrumbs, filter choices, tabs."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import CHANNELS, Service
from app.models.org import AGENCY_LEVELS
from app.services.registry.scope import visible_agency_ids
from app.services.reports import estimates as rs
from app.services.reports.aggregates import current_month

TABS = ("reports.overview", "reports.ranking", "reports.detail", "reports.questions_page",
        "reports.comments")


def breadcrumbs(tree: rs.AgencyTree, agency_id: int, visible: set[int] | None, lang: str) -> list[dict]:
    """The path from the top of the user's scope down to the agency."""
    path = [a for a in tree.path(agency_id) if visible is None or a in visible]
    return [{"id": a, "name": tree.name(a, lang), "code": tree.code[a]} for a in path]


def children(tree: rs.AgencyTree, agency_id: int, lang: str) -> list[dict]:
    """The agencies directly below, for drilling down."""
    return [{"id": a, "name": tree.name(a, lang), "code": tree.code[a]}
            for a in tree.children.get(agency_id, [])]


def page_context(scope, user, lang: str, endpoint: str) -> dict:
    """Template variables shared by the report pages."""
    visible = visible_agency_ids(user)
    services = db.session.execute(
        select(Service.id, Service.code, Service.name_vi, Service.name_en).order_by(Service.code)
    ).all()
    months = scope.design.months if scope.design else ()
    return {
        "agency_id": scope.root,
        "agency_name": scope.tree.name(scope.root, lang),
        "agency_code": scope.tree.code[scope.root],
        "filters": scope.filters,
        "args": scope.filters.as_args(),
        "period": (scope.start, scope.end),
        # The period reaches the current month (in TIMEZONE): its figures will still change.
        "incomplete": scope.end >= current_month(),
        "months": months,
        "crumbs": breadcrumbs(scope.tree, scope.root, visible, lang),
        "below": children(scope.tree, scope.root, lang),
        "choices": {
            "questionnaires": rs.questionnaire_codes(),
            "levels": AGENCY_LEVELS,
            "channels": CHANNELS,
            "services": [(s.id, f"{s.code} · {s.name_en if lang == 'en' else s.name_vi}") for s in services],
            "weightings": rs.WEIGHTINGS,
            "measures": rs.MEASURES,
        },
        "tabs": TABS,
        "endpoint": endpoint,
        "version": scope.design.version if scope.design else None,
    }
