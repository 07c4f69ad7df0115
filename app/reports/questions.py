"""Every collected question (/reports/questions) and the official report as a PDF (/reports/report.pdf).

Both take the pages' filters and are scope-checked like the other dashboards.
"""

from __future__ import annotations

from flask import Response, g, render_template
from flask_babel import gettext
from flask_login import current_user

from app.reports import bp
from app.reports.dashboard import _scope  # the same filters, default agency and scope check as the pages
from app.services.reports import page_context, pdf, questions
from app.web.guards import requires


def channel_labels() -> dict[str, str]:
    """The channels in the page's language, and the profile's heading for them."""
    return {"_title": gettext("Channel"), "qr": gettext("QR code"), "kiosk": gettext("Kiosk"),
            "paper": gettext("Paper form"), "online": gettext("Online"), "import": gettext("Imported file")}


@bp.get("/questions")
@requires("reports")
def questions_page():
    """The overall item, the general items, the expectations and the respondents, with intervals."""
    agency_id, filters = _scope()
    data = questions.build_questions(agency_id, filters, g.lang, channel_labels(),
                                     gettext("Verified responses"))
    charts = pdf.question_charts(data, gettext, page=True)
    return render_template("reports/questions.html", data=data, charts=charts,
                           **page_context(data.scope, current_user, g.lang, "reports.questions_page"))


@bp.get("/report.pdf")
@requires("reports")
def report_pdf():
    """The official report of the scope and period on A4 pages (WeasyPrint), charts as SVG."""
    agency_id, filters = _scope()
    data = pdf.report_data(agency_id, filters, g.lang, channel_labels(), gettext)
    context = page_context(data["data"].scope, current_user, g.lang, "reports.report_pdf")
    body = pdf.render_pdf(render_template("reports/report_pdf.html", **data, **context))
    name = f"sipas-report-{filters.start or 'latest'}-{filters.end or ''}-{g.lang}.pdf".replace("--", "-")
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})
