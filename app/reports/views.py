"""Report views; issue 6 adds the dashboards. Each one checks role and agency scope."""

from __future__ import annotations

from flask import abort, g, render_template
from flask_login import current_user

from app.extensions import db
from app.models import Agency
from app.reports import bp
from app.services.dossiers import timeliness_table
from app.services.registry import agency_choices, agency_coverage, subtree_ids
from app.web.guards import ensure_scope, requires


@bp.get("/")
@requires("reports")
def index():
    """The agencies whose reports this account may read."""
    return render_template("reports/index.html", agencies=agency_choices(current_user, g.lang))


@bp.get("/agencies/<id:agency_id>")
@requires("reports")
def agency(agency_id: int):
    """An agency's responses and dossiers per month (the response rate), and the dossiers' timeliness."""
    row = db.session.get(Agency, agency_id) or abort(404)
    ensure_scope(row.id)
    months = agency_coverage(row)
    flagged = {a.agency_id for m in months for a in m.coverage.anomalies}
    names = {a.id: a.name(g.lang) for a in db.session.query(Agency).filter(Agency.id.in_(flagged))}
    timeliness = timeliness_table(subtree_ids(row.id))
    return render_template("reports/agency.html", agency=row, months=months, names=names,
                           timeliness=timeliness)
