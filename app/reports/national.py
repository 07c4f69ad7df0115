"""The national ranking (issue 20) of a national installation: /reports/national and its PDF.

Leaders and administrators; elsewhere than a national installation the pages do not exist (404).
The figures are analysis.rollup's on the active imported totals files (app/services/totals).
"""

from __future__ import annotations

from datetime import date

from flask import Response, abort, g, render_template, request
from flask_babel import gettext

from app.reports import bp
from app.services.reports import pdf
from app.services.totals import is_national, national_charts, national_ranking
from app.web.guards import requires
from app.web.labels import LEVEL_LABELS


def _context() -> dict:
    if not is_national():
        abort(404)
    ranking = national_ranking(request.args.get("period", "")[:80] or None, g.lang)
    charts = national_charts(ranking, gettext("Units ranked, with their confidence intervals"),
                             gettext("The nation's index per period, with its confidence intervals"))
    return {"ranking": ranking, "charts": charts, "level_labels": LEVEL_LABELS}


@bp.get("/national")
@requires("national_reports")
def national():
    """Units ranked with their intervals and rank intervals, their elements and criteria, the trend."""
    return render_template("reports/national.html", **_context())


@bp.get("/national.pdf")
@requires("national_reports")
def national_pdf():
    """The leaders' national report: cover, method, ranking with rank intervals, elements, trend."""
    context = _context()
    if context["ranking"].period is None:
        abort(404)
    body = pdf.render_pdf(render_template("reports/national_pdf.html", fonts=pdf.font_faces(),
                                          today=date.today().isoformat(), **context))
    period = context["ranking"].period
    name = f"sipas-national-{period.code}-{period.period_from}-{period.period_to}-{g.lang}.pdf"
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
