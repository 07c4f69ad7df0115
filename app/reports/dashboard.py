"""Leaders' dashboards: overview, ranking, heat map and criteria, comments, printable page.

Each view parses the filters, checks the role ("reports") and that the agency
lies in the user's subtree, calls app.services.reports.pages and renders.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import abort, g, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.exceptions import BadRequest

from app.inputs import query_id, query_page
from app.reports import bp
from app.services.dossiers import timeliness_table
from app.services.reports import charts, current_month, page_context, pages
from app.services.reports import estimates as rs
from app.web.guards import ensure_scope, requires


def _scope():
    """The filters and the agency asked for (default: the top of the user's scope), scope-checked."""
    invalid = rs.ReportFilters.invalid(request.args)
    if invalid:
        error = BadRequest()
        # Shown under the 400 page's own sentence (app.errors), in the page's language.
        error.detail = gettext("These filters have a value that is not allowed: %(names)s. Choose them again "
                               "in the Filters form.", names=", ".join(invalid))
        error.description = error.detail
        raise error
    filters = rs.ReportFilters.from_args(request.args)
    agency_id = query_id("agency")
    if agency_id is None:
        agency_id = rs.default_root(current_user)
        if agency_id is None:
            abort(404)
    ensure_scope(agency_id)
    return agency_id, filters


def _titles(design) -> dict[str, str]:
    if design is None:
        return {}
    questionnaire = design.questionnaire
    titles = {e.code: e.title.get(g.lang) or e.title.get("vi") or e.code for e in questionnaire.elements}
    titles["OVERALL"] = gettext("Overall")
    return titles


@bp.app_template_filter("pct")
def pct(value, digits: int = 1) -> str:
    """A percent-point number with `digits` decimals, an em dash when missing (faster than a macro)."""
    return "—" if value is None else f"{value:.{digits}f}"


@bp.get("/overview")
@requires("reports")
def overview():
    """The scope's overall index, elements, trend, change since the previous period, coverage."""
    agency_id, filters = _scope()
    data = pages.build_overview(agency_id, filters)
    titles = _titles(data.scope.design)
    figures = {
        "trend": charts.trend_figure(data.trend, gettext, current_month(), rs.RULES.min_n),
        "elements": charts.elements_figure(data.elements, titles, gettext),
    }
    timeliness = timeliness_table(data.scope.ids, data.scope.start, data.scope.end)
    return render_template("reports/overview.html", data=data, figures=figures, titles=titles,
                           timeliness=timeliness,
                           **page_context(data.scope, current_user, g.lang, "reports.overview"))


@bp.get("/ranking")
@requires("reports")
def ranking():
    """Units under the scope ranked with intervals, coloured by significance against the average."""
    agency_id, filters = _scope()
    data = pages.build_ranking(agency_id, filters, g.lang)
    titles = _titles(data.scope.design)
    # One url_for per endpoint, not per row: building 1,000 URLs through the router costs 0.5 s.
    query = "".join(f"&{k}={quote(v)}" for k, v in sorted(filters.as_args().items()))
    bases = {True: url_for("reports.ranking"), False: url_for("reports.overview")}
    for row in data.rows:
        row["url"] = f"{bases[row['has_children']]}?agency={row['agency_id']}{query}"
    # Building a 1,000-bar figure costs most of a warm request: keep it with the data it shows.
    figures = rs.cached("figure-ranking", (agency_id, filters, g.lang),
                        lambda: {"ranking": charts.ranking_figure(data.rows, data.average, gettext)},
                        data.scope.key)
    return render_template("reports/ranking.html", data=data, figures=figures, titles=titles,
                           **page_context(data.scope, current_user, g.lang, "reports.ranking"))


@bp.get("/detail")
@requires("reports")
def detail():
    """Heat map units × elements, criteria of the scope and the distribution of ratings."""
    agency_id, filters = _scope()
    data = pages.build_ranking(agency_id, filters, g.lang)
    overview_data = pages.build_overview(agency_id, filters)
    distribution = pages.rating_distribution(data.scope)
    titles = _titles(data.scope.design)
    labels = _scale_labels(data.scope.design)
    figures = rs.cached("figure-detail", (agency_id, filters, g.lang), lambda: {
        "heatmap": charts.heatmap_figure(data.rows, data.codes, titles, gettext),
        "distribution": charts.distribution_figure(distribution, labels, gettext),
    }, data.scope.key)
    criteria = [r for r in overview_data.records if r["level"] == "criterion"]
    return render_template("reports/detail.html", data=data, figures=figures, titles=titles,
                           criteria=criteria, distribution=distribution, scale_labels=labels,
                           question_texts=_question_texts(data.scope.design),
                           **page_context(data.scope, current_user, g.lang, "reports.detail"))


def _scale_labels(design) -> list[str]:
    if design is None:
        return []
    scale = design.questionnaire.scale
    labels = scale.labels.get(g.lang) or scale.labels.get("vi") or ()
    return [labels[i] if i < len(labels) else str(i + 1) for i in range(scale.points)]


def _question_texts(design) -> dict[str, str]:
    if design is None:
        return {}
    return {q.code: q.text.get(g.lang) or q.text.get("vi") or q.code
            for q in design.questionnaire.all_questions()}


@bp.get("/comments")
@requires("reports")
def comments():
    """Free-text answers with their ratings, 50 a page; low ratings highlighted for follow-up."""
    agency_id, filters = _scope()
    from app.services.reports import comments_page

    scope = pages.open_scope(agency_id, filters)
    low_only = request.args.get("low") == "1"
    listing = comments_page(scope, low_only=low_only, page=query_page())
    names = {a: scope.tree.name(a, g.lang) for a in {c.agency_id for c in listing.comments}}
    return render_template("reports/comments.html", comments=listing.comments, listing=listing,
                           low_only=low_only, agency_names=names,
                           question_texts=_question_texts(scope.design),
                           **page_context(scope, current_user, g.lang, "reports.comments"))


@bp.get("/print")
@requires("reports")
def printable():
    """One agency's report on A4 pages, for printing or saving as PDF."""
    agency_id, filters = _scope()
    data = pages.build_overview(agency_id, filters)
    ranking_data = pages.build_ranking(agency_id, filters, g.lang)
    return render_template("reports/print.html", data=data, ranking=ranking_data,
                           titles=_titles(data.scope.design),
                           **page_context(data.scope, current_user, g.lang, "reports.printable"))
