"""Report exports: indices as CSV and Excel, responses as the FORMATS.md §2 CSV (streamed)."""

from __future__ import annotations

from flask import Response, abort, current_app, g, stream_with_context

import app.reports.commands  # noqa: F401  (flask reports warm)
import app.reports.scoreboard  # noqa: F401  (the public scoreboard registers with the blueprint too)
from app.reports import bp
from app.reports.dashboard import _scope
from app.services.reports import exports, pages
from app.web.guards import requires

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@bp.get("/export/indices.csv")
@requires("reports")
def export_indices_csv():
    """The scope's and its units' indices as CSV."""
    agency_id, filters = _scope()
    text = exports.indices_csv(exports.index_rows(agency_id, filters, g.lang))
    return Response("\ufeff" + text, mimetype="text/csv",
                    headers=_attachment(f"indices-{agency_id}.csv"))


@bp.get("/export/indices.xlsx")
@requires("reports")
def export_indices_xlsx():
    """The same table as an Excel workbook, one sheet per index level."""
    agency_id, filters = _scope()
    body = exports.indices_workbook(exports.index_rows(agency_id, filters, g.lang))
    return Response(body, mimetype=XLSX, headers=_attachment(f"indices-{agency_id}.xlsx"))


@bp.get("/export/responses.csv")
@requires("reports")
def export_responses_csv():
    """The scope's responses of the period in the responses CSV format, streamed."""
    agency_id, filters = _scope()
    scope = pages.open_scope(agency_id, filters)
    if not scope.versions:
        # Checked before streaming: once the headers are sent, an error can only cut the file short.
        abort(404, description=f"no responses to questionnaire {filters.questionnaire!r}")
    chunks = exports.stream_responses_csv(scope.tree.code[agency_id], filters, scope.start, scope.end,
                                          current_app.config["TIMEZONE"])
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers=_attachment(f"responses-{scope.tree.code[agency_id]}.csv"))


@bp.get("/export/responses.sav")
@requires("reports")
def export_responses_sav():
    """The same responses as an SPSS file, labelled in the page's language."""
    return _statistical("sav")


@bp.get("/export/responses.dta")
@requires("reports")
def export_responses_dta():
    """The same responses as a Stata file, labelled in the page's language."""
    return _statistical("dta")


def _statistical(fmt: str):
    agency_id, filters = _scope()
    scope = pages.open_scope(agency_id, filters)
    if not scope.versions:
        abort(404, description=f"no responses to questionnaire {filters.questionnaire!r}")
    body = exports.responses_statistical(scope.tree.code[agency_id], filters, scope.start, scope.end,
                                         current_app.config["TIMEZONE"], fmt, g.lang)
    mimetype = "application/x-spss-sav" if fmt == "sav" else "application/x-stata-dta"
    name = f"responses-{scope.tree.code[agency_id]}.{fmt}"
    return Response(body, mimetype=mimetype, headers=_attachment(name))
