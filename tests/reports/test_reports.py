"""Leaders' reports: same numbers as analysis, scope guards, filters, figures, exports, comments."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import numpy as np
import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select

from analysis import IndexSpec, estimate_indices, totals_from_table
from app.extensions import db
from app.models import Agency, ReportCellsBuilt, Response
from app.services.questionnaires.versions import latest_published, questionnaire_of
from app.services.reports import cells as report_cells
from app.services.reports import estimates as rs
from app.services.reports import pages
from app.services.reports.aggregates import psu_totals_table
from app.services.reports.exports import safe_cell
from tests.admin.conftest import make_agency


def _figure(html: str, name: str) -> dict:
    match = re.search(rf'<script type="application/json" id="fig-{name}">(.*?)</script>', html, re.S)
    assert match, f"figure {name} missing"
    return json.loads(match.group(1))


def test_scope_indices_are_the_analysis_indices_of_the_same_data(province):
    """One implementation: the overview equals estimate_indices on the database's aggregate table."""
    version = latest_published("sipas-2017")
    questionnaire = questionnaire_of(version)
    table = psu_totals_table(version.id, questionnaire, by=(), where=[Response.suspicious.is_(False)])
    expected = estimate_indices(totals_from_table(table, IndexSpec.from_questionnaire(questionnaire)))
    expected = {r["code"]: r for r in expected.records()}
    overview = pages.build_overview(province.province.id, rs.ReportFilters(start="2025-01", end="2025-12"))
    assert overview.records and len(overview.records) == len(expected)
    for record in overview.records:
        want = expected[record["code"]]
        assert record["n"] == want["n"] and record["df"] == want["df"]
        for field in ("estimate", "se", "ci_low", "ci_high"):
            assert record[field] == pytest.approx(want[field], rel=1e-9)


@pytest.mark.parametrize("args, column, value", [
    ({"channel": "paper"}, "channel", "paper"),
    ({"verified": "1"}, "verified", True),
    ({"service": "most answered"}, "service", None),
])
def test_a_data_filter_is_a_domain_of_the_full_design(province, args, column, value):
    """A channel, verified-only or service view: analysis' --by domain estimate, all PSUs in the design."""
    version = latest_published("sipas-2017")
    if column == "service":
        value = db.session.scalar(select(Response.service_id).where(Response.version_id == version.id)
                                  .group_by(Response.service_id).order_by(func.count().desc()).limit(1))
        args = {"service": str(value)}
    questionnaire = questionnaire_of(version)
    table = psu_totals_table(version.id, questionnaire, by=(column,), where=[Response.suspicious.is_(False)])
    totals = totals_from_table(table, IndexSpec.from_questionnaire(questionnaire), by=[column])
    expected = {r["code"]: r for r in estimate_indices(totals).records() if r["by"][column] == value}
    filters = rs.ReportFilters.from_args({"start": "2025-01", "end": "2025-12", **args})
    overview = pages.build_overview(province.province.id, filters)
    assert overview.records and len(overview.records) == len(expected)
    cut = psu_totals_table(version.id, questionnaire, by=(), where=filters.where())
    for record in overview.records:
        want = expected[record["code"]]
        assert record["n"] == want["n"] and record["df"] == want["df"]
        for field in ("estimate", "se", "ci_low", "ci_high"):
            assert record[field] == pytest.approx(want[field], rel=1e-9)
    # A cut of the data (the PSUs without such responses dropped) gives another variance.
    cut_se = {r["code"]: r["se"] for r in estimate_indices(
        totals_from_table(cut, IndexSpec.from_questionnaire(questionnaire))).records()}
    assert overview.record("OVERALL")["se"] != pytest.approx(cut_se["OVERALL"], rel=1e-6)


def test_district_leader_sees_only_the_district(as_user, province):
    client = as_user("district")
    page = client.get("/reports/overview")
    assert page.status_code == 200
    assert province.district.name_vi in page.get_data(as_text=True)
    for path in ("/reports/overview", "/reports/ranking", "/reports/detail", "/reports/comments",
                 "/reports/print", "/reports/export/indices.csv", "/reports/export/indices.xlsx",
                 "/reports/export/responses.csv"):
        assert client.get(f"{path}?agency={province.other_district.id}").status_code == 403, path
        assert client.get(f"{path}?agency={province.province.id}").status_code == 403, path


def test_roles_without_reports_are_refused(client, as_user, province):
    assert client.get("/reports/overview").status_code in (302, 401)
    assert as_user("designer").get("/reports/overview").status_code == 403


def test_overview_shows_index_interval_trend_and_elements(as_user, province):
    html = as_user("province").get("/reports/overview").get_data(as_text=True)
    trend = _figure(html, "trend")
    assert any("error_y" in t for t in trend["data"]), "interval bars"
    assert len([t for t in trend["data"] if t.get("mode") == "lines+markers"][0]["x"]) == 12
    elements = _figure(html, "elements")
    assert len(elements["data"][0]["x"]) == 5 and "error_x" in elements["data"][0]
    assert 'id="table-trend"' in html and 'id="table-elements"' in html
    assert "cdn" not in html.lower() and "/static/vendor/plotly-cartesian.min.js" in html


def test_filters_change_the_numbers_and_links_keep_them(as_user, province):
    client = as_user("province")
    everything = client.get("/reports/overview").get_data(as_text=True)
    verified = client.get("/reports/overview?verified=1&channel=qr").get_data(as_text=True)
    count = lambda html: int(re.search(r'id="responses">(\d+)<', html).group(1))  # noqa: E731
    assert 0 < count(verified) < count(everything) / 3
    assert "verified=1" in verified and "channel=qr" in verified
    assert 'href="/reports/ranking?agency=' in verified
    assert re.search(r'href="/reports/ranking\?agency=\d+&amp;channel=qr&amp;verified=1"', verified)


def test_ranking_colours_agree_with_the_tests(as_user, province):
    html = as_user("province").get("/reports/ranking").get_data(as_text=True)
    figure = _figure(html, "ranking")
    assert [t["orientation"] for t in figure["data"]] == ["h", "h", "h"]
    data = pages.build_ranking(province.province.id, rs.ReportFilters(), "vi")
    assert {r["significance"] for r in data.rows} >= {"above", "below"}
    for row in data.rows:
        diff = row["versus"]
        if row["significance"] == "same":
            assert diff["p"] >= 0.05
        else:
            assert diff["p"] < 0.05 and (diff["estimate"] > 0) == (row["significance"] == "above")
            assert (diff["ci_low"] > 0) or (diff["ci_high"] < 0)
    assert any(row["small"] for row in data.rows) and all(
        ("n<30" in row["record"]["flags"]) or ("cv>0.3" in row["record"]["flags"])
        for row in data.rows if row["small"])


def test_level_filter_ranks_communes_and_heat_map_has_every_element(as_user, province):
    html = as_user("province").get("/reports/detail?level=commune").get_data(as_text=True)
    heat = _figure(html, "heatmap")["data"][0]
    assert len(heat["x"]) == 5 and len(heat["y"]) > 50
    assert 'id="table-distribution"' in html and 'id="table-criteria"' in html


def test_weighting_choices_give_different_estimates(province):
    root = province.province.id
    design = pages.build_overview(root, rs.ReportFilters()).record("OVERALL")["estimate"]
    flat = pages.build_overview(root, rs.ReportFilters(weighting="unweighted")).record("OVERALL")["estimate"]
    assert design != pytest.approx(flat, abs=1e-9)


def test_poststratified_to_dossier_volumes(province):
    from datetime import date

    from app.models import DossierVolume

    for child in province.province.children:
        for month in range(1, 13):
            db.session.add(DossierVolume(agency_id=child.id, month=date(2025, month, 1), dossiers=500))
    db.session.commit()
    data = pages.build_overview(province.province.id, rs.ReportFilters(weighting="poststratified"))
    # Volumes of the children themselves: the rate counts the children's own responses, not their subtrees'.
    assert data.record("OVERALL")["estimate"] is not None and data.dossiers == 500 * 12 * len(
        province.province.children) and not data.coverage.anomalies
    own = sum(n for (agency, _), n in pages.responses_by_pair(data.scope).items()
              if agency in {c.id for c in province.province.children})
    assert data.coverage.covered_responses == own < data.responses
    assert data.response_rate == pytest.approx(100 * own / data.dossiers)


def test_cache_refreshes_when_a_response_arrives(province):
    root = province.district.id
    before = pages.build_overview(root, rs.ReportFilters()).responses
    version = latest_published("sipas-2017")
    response = Response(uid="new-1", version_id=version.id, agency_id=root, channel="qr",
                        submitted_at=datetime(2025, 12, 20, tzinfo=UTC), r1=5, answers={})
    db.session.add(response)
    db.session.flush()
    report_cells.add_response(version.id, response.id)  # as every writer does
    db.session.commit()
    assert pages.build_overview(root, rs.ReportFilters()).responses == before + 1


def test_indices_exports_parse(as_user, province):
    client = as_user("province")
    text = client.get("/reports/export/indices.csv?level=district").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0]["agency"] == "DEMO" and rows[0]["code"] == "OVERALL"
    assert {r["level"] for r in rows} == {"overall", "element", "criterion"}
    assert float(rows[0]["ci_low"]) < float(rows[0]["estimate"]) < float(rows[0]["ci_high"])
    book = load_workbook(io.BytesIO(client.get("/reports/export/indices.xlsx").data))
    assert book.sheetnames == ["Overall", "Elements", "Criteria"]
    header = [c.value for c in book["Overall"][1]]
    assert header[:3] == ["agency", "agency_name", "period_start"] and "flags" in header
    assert isinstance(book["Overall"].cell(row=2, column=header.index("estimate") + 1).value, float)


def test_exports_neutralise_formulas(as_user, province):
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and safe_cell("@x") == "'@x"
    assert safe_cell("-1+2") == "'-1+2" and safe_cell(-1.5) == -1.5 and safe_cell("ok") == "ok"
    agency = db.session.get(Agency, province.district.id)
    agency.name_vi = "=cmd|' /C calc'!A0"
    db.session.commit()
    text = as_user("province").get("/reports/export/indices.csv").get_data(as_text=True)
    assert "'=cmd" in text and ",=cmd" not in text


def test_responses_export_is_the_formats_csv_of_the_scope(as_user, province):
    response = as_user("district").get("/reports/export/responses.csv")
    assert response.is_streamed
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows and {"response_id", "survey", "agency", "weight"} <= set(rows[0])
    codes = set(db.session.scalars(select(Agency.code).where(Agency.code.like("DEMO-H01%"))))
    assert {r["agency"] for r in rows} <= codes


def test_comments_are_escaped_and_low_ratings_highlighted(as_user, province):
    version = latest_published("sipas-2017")
    db.session.add(Response(uid="bad-1", version_id=version.id, agency_id=province.district.id, channel="qr",
                            submitted_at=datetime(2025, 12, 30, tzinfo=UTC), r1=1, r2=2,
                            answers={"COMMENT": "<script>alert(1)</script> chậm quá"}))
    db.session.commit()
    html = as_user("district").get("/reports/comments?low=1").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; chậm quá" in html
    row = html[html.index("&lt;script&gt;") - 400: html.index("&lt;script&gt;")]
    assert 'class="low"' in row


def test_trend_marks_a_change_of_questionnaire_version(province):
    from app.services.questionnaires.versions import publish_questionnaire

    old = questionnaire_of(latest_published("sipas-2017"))
    definition = dict(old.definition, version=old.version + 1)
    from analysis.questionnaire import parse_questionnaire

    new_version, _ = publish_questionnaire(parse_questionnaire(definition, source="test"))
    for i in range(40):
        db.session.add(Response(uid=f"v2-{i}", version_id=new_version.id, agency_id=province.district.id,
                                channel="qr", submitted_at=datetime(2025, 12, 15, tzinfo=UTC),
                                r1=4 + i % 2, r2=3 + i % 3, answers={}))
    db.session.commit()
    trend = pages.build_overview(province.district.id, rs.ReportFilters()).trend
    assert [p["version"] for p in trend][-1] == old.version + 1
    assert trend[-1]["break"] and not any(p["break"] for p in trend[:-1])


def test_filters_ignore_malformed_values():
    filters = rs.ReportFilters.from_args({"start": "2025-13", "level": "galaxy", "service": "1 OR 1",
                                          "weighting": "magic", "code": "E1'--", "verified": "1"})
    assert filters == rs.ReportFilters(verified_only=True)
    assert rs.ReportFilters.from_args(filters.as_args()) == filters
    assert rs.ReportFilters.invalid({"start": "2025-13", "level": "galaxy", "service": "1 OR 1",
                                     "weighting": "magic", "code": "E1'--", "verified": "1", "end": ""}) == [
        "start", "level", "service", "weighting", "code"]


@pytest.mark.parametrize("lang, words", [("vi", "không hợp lệ"), ("en", "not allowed")])
@pytest.mark.parametrize("query", ["start=2025-13", "level=galaxy", "channel=fax", "weighting=magic",
                                   "measure=x", "service=1%20OR%201", "code=E1'--", "verified=yes"])
def test_malformed_filters_are_a_400_in_the_pages_language(as_user, province, query, lang, words):
    client = as_user("province")
    for path in ("/reports/overview", "/reports/ranking", "/reports/export/indices.csv"):
        response = client.get(f"{path}?{query}&lang={lang}")
        assert response.status_code == 400, (path, query)
        text = response.get_data(as_text=True)
        assert words in text and query.split("=")[0] in text


def test_empty_scope_renders(as_user, province):
    lonely = make_agency("EMPTY", "district", province.province)
    db.session.commit()
    assert "EMPTY" in rs.load_tree().code.values()
    page = as_user("province").get(f"/reports/ranking?agency={lonely.id}")
    assert page.status_code == 200


def test_public_scoreboard_is_off_by_default_and_has_no_comments(app, client, province):
    assert client.get("/reports/scoreboard").status_code == 404
    app.config["PUBLIC_SCOREBOARD"] = True
    page = client.get("/reports/scoreboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert province.province.name_vi in html and "Sở" in html
    assert "Máy lấy số" not in html and "/reports/comments" not in html


def test_which_agencies_got_significantly_worse_and_on_which_element(as_user, province):
    """The question issue 6 is done by: per agency and element, the change and its test."""
    filters = rs.ReportFilters(start="2025-07", end="2025-12")
    data = pages.build_ranking(province.province.id, filters, "vi")
    assert data.previous == ("2025-01", "2025-06")
    changes = [(row["code"], code, d) for row in data.rows for code, d in row["changes"].items()]
    assert changes and all(d["p"] is not None for _, _, d in changes if d["estimate"] is not None)
    shown = {*data.codes, "OVERALL"}
    worse = [(a, c) for a, c, d in changes
             if c in shown and d["p"] is not None and d["p"] < 0.05 and d["estimate"] < 0]
    assert worse
    html = as_user("province").get("/reports/detail?start=2025-07&end=2025-12").get_data(as_text=True)
    assert 'id="table-changes"' in html
    assert html.count('class="change-below"') == len(worse)


def test_chunked_comparisons_equal_analysis_compare(province):
    """versus_scope and pairwise only slice statistics and chunk groups of analysis.compare."""
    from analysis.compare import compare_groups, compare_to_all

    scope = pages.open_scope(province.province.id, rs.ReportFilters())
    ids, tree = scope.ids, scope.tree

    def label_of(agency, month):
        unit = tree.unit_of(agency, scope.root, None) if agency in ids else None
        return None if unit is None else f"{unit}|{'a' if month <= '2025-06' else 'b'}"

    domains = pages._domains(scope, scope.design, label_of)
    labels = [str(v) for v in domains.totals.group_labels[0]]
    ours = rs.versus_scope(domains, scope.filters, ("OVERALL", "E2"))
    theirs = compare_to_all(domains.totals)
    for g, label in enumerate(labels):
        for code in ("OVERALL", "E2"):
            j = theirs.codes.index(code)
            if label != rs.OUT and np.isfinite(theirs.estimate[g, j]):
                assert ours[(label, code)]["estimate"] == pytest.approx(theirs.estimate[g, j], rel=1e-9)
                assert ours[(label, code)]["p"] == pytest.approx(theirs.p_value[g, j], rel=1e-9, abs=1e-15)
    units = sorted({label.split("|")[0] for label in labels if label != rs.OUT})
    pairs = [(f"{u}|b", f"{u}|a") for u in units if f"{u}|a" in labels and f"{u}|b" in labels]
    ours = rs.pairwise(domains, scope.filters, pairs, ("E1", "OVERALL"))
    theirs = compare_groups(domains.totals, pairs)
    for k, (a, _) in enumerate(pairs):
        for code in ("E1", "OVERALL"):
            j = theirs.codes.index(code)
            assert ours[(a, code)]["estimate"] == pytest.approx(theirs.estimate[k, j], rel=1e-9)
            assert ours[(a, code)]["ci_low"] == pytest.approx(theirs.ci_low[k, j], rel=1e-9)
            assert ours[(a, code)]["p"] == pytest.approx(theirs.p_value[k, j], rel=1e-9, abs=1e-15)


def test_cache_follows_changes_of_the_agency_tree(province):
    before = {row["code"] for row in pages.build_ranking(province.province.id, rs.ReportFilters(), "vi").rows}
    commune = db.session.scalar(select(Agency).where(Agency.code.like("DEMO-H01-X%")).order_by(Agency.code))
    commune.parent_id = province.province.id
    db.session.commit()
    after = {row["code"] for row in pages.build_ranking(province.province.id, rs.ReportFilters(), "vi").rows}
    assert commune.code in after - before


def test_new_responses_show_at_once(province):
    """A response added by a writer changes the data version and is in the next page's numbers."""
    version = latest_published("sipas-2017")
    filters = rs.ReportFilters()
    before = pages.build_overview(province.province.id, filters)
    for i in range(30):
        response = Response(uid=f"inc-{i}", version_id=version.id, agency_id=province.district.id,
                            channel="qr", submitted_at=datetime(2025, 11 + i % 2, 3, tzinfo=UTC),
                            stratum="DEMO-H01" if i % 3 else None,
                            psu=None if i % 2 else "DEMO-H01-Q1/2025-11",
                            weight=2.0, r1=1 + i % 5, r3=5, answers={})
        db.session.add(response)
        db.session.flush()
        report_cells.add_response(version.id, response.id)
    db.session.commit()
    after = pages.build_overview(province.province.id, filters)
    assert after.responses == before.responses + 30
    rs.invalidate()  # a new worker: the same numbers from the cells
    again = pages.build_overview(province.province.id, filters)
    for a, b in zip(after.records, again.records, strict=True):
        assert (a["code"], a["n"], a["df"]) == (b["code"], b["n"], b["df"])
        assert a["estimate"] == pytest.approx(b["estimate"], rel=1e-12)


def test_responses_export_of_an_unknown_questionnaire_is_a_clear_404(as_user, province):
    response = as_user("province").get("/reports/export/responses.csv?questionnaire=nope")
    assert response.status_code == 404


def test_warm_command_builds_missing_cells(app, runner, province):
    db.session.execute(delete(ReportCellsBuilt))
    db.session.commit()
    result = runner.invoke(args=["reports", "warm"])
    assert result.exit_code == 0 and "sipas-2017 v2" in result.output, result.output  # v2: issue 17
    assert db.session.scalar(select(func.count()).select_from(ReportCellsBuilt)) >= 1


@pytest.mark.parametrize("path", ["/reports/overview", "/reports/ranking", "/reports/detail",
                                  "/reports/comments", "/reports/print"])
def test_pages_run_no_inline_script_and_print_on_a4(as_user, province, path):
    html = as_user("province").get(path).get_data(as_text=True)
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"<[^>]+\son[a-z]+=", html) and "javascript:" not in html


def test_print_css_sets_a4(client):
    with client.get("/static/reports.css") as response:
        css = response.get_data(as_text=True)
    assert "@page { size: A4" in css and "@media print" in css
