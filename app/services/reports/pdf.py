"""The official report as a PDF: the pages' figures on A4, charts as server-side SVG, WeasyPrint.

`report_data` gathers what the report shows from the same functions as the web
pages (overview, ranking, questions, comments), so a figure in the PDF is the
figure on the page. The blueprint renders reports/report_pdf.html with it and
`render_pdf` lays the HTML out. Vietnamese is set in DejaVu Sans, embedded from
its file (Debian fonts-dejavu-core), which has every Vietnamese diacritic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from app.services.dossiers import timeliness_table
from app.services.reports import estimates as rs
from app.services.reports import pages, questions, svg

#: The fonts' files (Debian fonts-dejavu-core); WeasyPrint embeds the glyphs it uses.
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {"regular": FONT_DIR / "DejaVuSans.ttf", "bold": FONT_DIR / "DejaVuSans-Bold.ttf"}
COMMENTS_SHOWN = 8
#: Bars per ranking figure: 30 fit an A4 page even with two-line names.
RANKING_BARS = 30
COMMENT_CHARS = 280


def font_faces() -> dict[str, str]:
    """file:// URLs of the embedded fonts (regular and bold)."""
    return {name: path.as_uri() for name, path in FONTS.items()}


def _item(label: str, record: dict | None, tone: str | None = None) -> dict:
    record = record or {}
    return {"label": label, "estimate": record.get("estimate"), "ci_low": record.get("ci_low"),
            "ci_high": record.get("ci_high"), "small": bool(record.get("suppressed")), "tone": tone}


def question_charts(data: questions.QuestionsReport, _: Callable[[str], str], page: bool = False) -> dict:
    """SVG charts of the questions report: general items, each choice question, the overall item by month.

    For the web `page` the charts are narrower (readable on a 360 px phone); the PDF's fill A4's width.
    """
    size = {"width": 420, "label_chars": 24} if page else {}
    charts = {}
    if data.items:
        title = _("Share satisfied with each general item, with intervals (95%)")
        charts["items"] = svg.bar_chart([_item(i["text"], i["record"]) for i in data.items], title, **size)
    for choice in data.choices + data.profile:
        charts[choice["code"]] = svg.bar_chart([_item(o["label"], o["record"]) for o in choice["options"]],
                                               choice["text"], **size)
    trend = [{"label": m["month"], **_item(m["month"], m["records"].get("OVERALL:satisfied"))}
             for m in data.months]
    if any(p["estimate"] is not None for p in trend):
        title = _("Overall satisfaction item by month, with intervals (95%)")
        charts["months"] = svg.line_chart(trend, title, width=size.get("width", 640))
    return charts


def overview_charts(overview: pages.Overview, ranking: pages.Ranking, titles: dict[str, str],
                    _: Callable[[str], str]) -> dict:
    """SVG charts of the indices: elements, criteria, the overall index by month, the ranking."""
    tones = {"above": "above", "below": "below", "same": "same"}
    colours = {"above": svg.GREEN, "below": svg.RED, "same": svg.GREY}
    charts = {
        "elements": svg.bar_chart([_item(titles.get(r["code"], r["code"]), r) for r in overview.elements],
                                  _("Element indices with intervals (95%)")),
        "trend": svg.line_chart([{"label": p["month"], **_item(p["month"], p)} for p in overview.trend],
                                _("Overall index by month with intervals (95%)")),
    }
    # A figure never breaks across pages: a long ranking is drawn in pieces that each fit one.
    items = [_item(r["name"], r["record"], tones[r["significance"]]) for r in ranking.rows]
    title = _("Agencies ranked by the index, with intervals (95%)")
    charts["ranking"] = [svg.bar_chart(items[i:i + RANKING_BARS], title, colours=colours)
                         for i in range(0, len(items), RANKING_BARS)]
    return charts


def comment_summary(scope: pages.Scope, lang: str) -> dict:
    """How many comments, how many with a low rating, and the latest few (shortened)."""
    listed = pages.list_comments(scope, limit=200)
    latest = []
    for comment in listed[:COMMENTS_SHOWN]:
        text = comment.text if len(comment.text) <= COMMENT_CHARS else comment.text[:COMMENT_CHARS] + "…"
        latest.append({"date": comment.submitted_at.strftime("%Y-%m-%d"), "text": text, "low": comment.low,
                       "agency": scope.tree.name(comment.agency_id, lang)})
    return {"count": len(listed), "low": sum(1 for c in listed if c.low), "latest": latest,
            "capped": len(listed) >= 200}


def report_data(agency_id: int, filters: rs.ReportFilters, lang: str, channel_labels: dict[str, str],
                _: Callable[[str], str]) -> dict:
    """Everything the PDF shows, from the pages' own functions."""
    overview = pages.build_overview(agency_id, filters)
    ranking = pages.build_ranking(agency_id, filters, lang)
    scope = overview.scope
    design = scope.design
    titles, criteria, texts = {}, [], {}
    if design is not None:
        q = design.questionnaire
        titles = {e.code: e.title.get(lang) or e.title.get("vi") or e.code for e in q.elements}
        texts = {x.code: x.text.get(lang) or x.text.get("vi") or x.code for x in q.all_questions()}
        by_code = {r["code"]: r for r in overview.records if r["level"] == "criterion"}
        criteria = [{"element": e.code, "title": titles[e.code],
                     "rows": [by_code[x.code] for x in e.questions if x.code in by_code]} for e in q.elements]
    shares = questions.build_questions(agency_id, filters, lang, channel_labels, _("Verified responses"))
    return {
        "data": overview, "ranking": ranking, "titles": titles, "criteria": criteria, "texts": texts,
        "shares": shares, "comments": comment_summary(scope, lang) if design is not None else None,
        "charts": overview_charts(overview, ranking, titles, _) if overview.records else {},
        "share_charts": question_charts(shares, _), "fonts": font_faces(), "rules": rs.RULES,
        "design_size": _design_size(design), "produced": date.today().isoformat(),
        "timeliness": timeliness_table(scope.ids, scope.start, scope.end,  # the dossier list's (issue 19)
                                       lambda agency: scope.tree.unit_of(agency, scope.root, None)),
    }


def _design_size(design) -> tuple[int, int] | None:
    """Strata and PSUs of the version's design (every PSU, whatever the filters)."""
    if design is None or design.empty:
        return None
    _, strata, _ = design.psus
    return len(set(strata.tolist())), len(strata)


def render_pdf(html: str) -> bytes:
    """The HTML laid out on A4 pages by WeasyPrint (fonts from files, nothing fetched from the network)."""
    from weasyprint import HTML  # imported on use: it loads Pango, which the other pages never need

    return HTML(string=html, base_url=FONT_DIR.as_uri() + "/", url_fetcher=_fetcher()).write_pdf()


def _fetcher():
    """A fetcher of file:// URLs under the font folder only; anything else (a URL in the data) is refused."""
    from weasyprint.urls import URLFetcher

    class FontsOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith(FONT_DIR.as_uri() + "/"):
                raise ValueError(f"not fetched: {url[:80]}")
            return super().fetch(url, headers)

    return FontsOnly(allowed_protocols=("file",))
