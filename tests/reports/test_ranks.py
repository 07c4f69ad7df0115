"""Issue 15: ranks as SIPAS publishes them: rank, rank interval (analysis.compare), change of rank and of
index against the previous period with its significance, on the page, the API, the exports and the
public scoreboard; two decimals by default."""

from __future__ import annotations

import csv
import io
import re

import numpy as np

from analysis.compare import rank_groups
from app.services.reports import api_indices, pages
from app.services.reports import estimates as rs
from app.services.reports.exports import COLUMNS, index_rows

PERIOD = rs.ReportFilters(start="2025-07", end="2025-12")


def _domains(root: int, filters: rs.ReportFilters):
    scope = pages.open_scope(root, filters)

    def label_of(agency: int, month: str) -> str | None:
        if agency not in scope.ids or not scope.start <= month <= scope.end:
            return None
        unit = scope.tree.unit_of(agency, root, None)
        return None if unit is None else str(unit)

    return pages._domains(scope, scope.design, label_of)


def test_rank_intervals_are_analysis_rank_groups(province):
    """The page's ranks and rank intervals are analysis.compare.rank_groups on the same domains."""
    root = province.province.id
    domains = _domains(root, PERIOD)
    records = rs.estimate(domains, PERIOD)
    reportable = set(pages._reportable(records, "OVERALL"))
    labels = [str(v) for v in domains.totals.group_labels[0]]
    eligible = np.array([label in reportable for label in labels])
    expected = rank_groups(domains.totals, "OVERALL", np.random.default_rng(rs.RANK_SEED),
                           eligible=eligible, calibration=domains.calibration, draws=rs.RANK_DRAWS)
    want = {labels[g]: (int(expected.rank[i]), int(expected.rank_low[i]), int(expected.rank_high[i]))
            for i, g in enumerate(expected.groups)}
    rows = pages.build_ranking(root, PERIOD, "vi").rows
    got = {str(r["agency_id"]): (r["rank"], r["rank_low"], r["rank_high"]) for r in rows if r["rank"]}
    assert len(got) >= 5 and got == want
    ranked = [r for r in rows if r["rank"] is not None]
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    estimates = [r["record"]["estimate"] for r in ranked]
    assert estimates == sorted(estimates, reverse=True)
    assert all(r["rank_low"] <= r["rank"] <= r["rank_high"] for r in ranked)
    assert all(r["rank"] is None for r in rows if r["small"])


def test_change_of_rank_is_against_the_previous_period(province):
    root = province.province.id
    rows = pages.build_ranking(root, PERIOD, "vi").rows
    before = pages.build_ranking(root, rs.ReportFilters(start="2025-01", end="2025-06"), "vi").rows
    previous = {r["agency_id"]: r["rank"] for r in before if r["rank"] is not None}
    moved = [r for r in rows if r["rank"] is not None and r["agency_id"] in previous]
    assert moved
    for r in moved:
        assert r["previous_rank"] == previous[r["agency_id"]]
        assert r["rank_change"] == previous[r["agency_id"]] - r["rank"]
        assert r["change"] is not None and r["change_significance"] == rs.significance(r["change"])


def test_ranking_page_api_exports_and_scoreboard_carry_the_ranks(app, client, as_user, province):
    root = province.province.id
    rows = pages.build_ranking(root, PERIOD, "en").rows
    first = rows[0]
    page = as_user("province").get("/reports/ranking?lang=en&start=2025-07&end=2025-12")
    html = page.get_data(as_text=True)
    body = re.search(r'<table class="data sortable" id="table-ranking">.*?</table>', html, re.S).group(0)
    cells = re.search(r"<tbody><tr[^>]*>\s*<td[^>]*>([^<]*)</td>\s*<td[^>]*>([^<]*)</td>", body).groups()
    assert cells == (str(first["rank"]), f"{first['rank_low']}–{first['rank_high']}")
    # Two decimals by default (REPORT_DECIMALS).
    assert f">{first['record']['estimate']:.2f}<" in body

    payload = api_indices(root, PERIOD, "agency")
    overall = [r for r in payload["results"] if r["code"] == "OVERALL"]
    by_code = {r["by"]["agency"]: r for r in overall}
    for row in rows:
        rank = by_code[row["code"]]["rank"]
        assert (rank["rank"], rank["low"], rank["high"], rank["previous"], rank["change"]) == (
            row["rank"], row["rank_low"], row["rank_high"], row["previous_rank"], row["rank_change"])
        change = by_code[row["code"]]["change"]
        if row["change"] and row["change"]["estimate"] is not None:
            assert change["estimate"] == row["change"]["estimate"]
            assert change["significant"] == (row["change_significance"] != "same")

    table = index_rows(root, PERIOD, "en")
    at = {name: i for i, name in enumerate(COLUMNS)}
    exported = {line[at["agency"]]: line for line in table if line[at["code"]] == "OVERALL"}
    for row in rows:
        line = exported[row["code"]]
        assert (line[at["rank"]], line[at["rank_low"]], line[at["rank_high"]], line[at["rank_change"]]) == (
            row["rank"], row["rank_low"], row["rank_high"], row["rank_change"])
    text = as_user("province").get("/reports/export/indices.csv?start=2025-07&end=2025-12").get_data(
        as_text=True)
    parsed = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert {"rank", "rank_low", "rank_high", "rank_change", "change", "change_p"} <= set(parsed[0])
    assert any(r["rank"] == "1" and r["code"] == "OVERALL" for r in parsed)

    app.config["PUBLIC_SCOREBOARD"] = True
    board = client.get("/reports/scoreboard?lang=en").get_data(as_text=True)
    default = pages.build_ranking(root, rs.ReportFilters(), "en").rows
    top = next(r for r in default if r["rank"] == 1)
    assert re.search(rf"<tr><td>1</td><td>{top['rank_low']}–{top['rank_high']}</td>\s*<td>[^<]*</td>\s*"
                     rf"<th scope=\"row\">{re.escape(top['name'])}</th>", board)
