"""A leader in headless Chromium: log in, read the overview and the ranking, see the charts' traces,
change a filter and see the numbers change, download the indices CSV; screenshots saved."""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import Agency
from app.services.exchange.demo import build_demo
from app.services.reports import estimates as rs
from tests.admin.conftest import PASSWORD, make_user


def _traces(page, chart: str) -> int:
    page.wait_for_selector(f"#chart-{chart}[data-drawn]", timeout=20_000)
    return page.evaluate(f"document.getElementById('chart-{chart}').data.length")


def test_leader_reads_overview_ranking_filters_and_exports(app, browser, live_server, artifacts):
    build_demo(seed=7, responses=2000, end_month=date(2025, 12, 1))
    province = db.session.scalar(select(Agency).where(Agency.code == "DEMO"))
    make_user("chief@example.org", "leader", province)
    db.session.commit()
    rs.CACHE.clear()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN",
                                  accept_downloads=True)
    page = context.new_page()
    blocked = []
    page.on("request", lambda r: blocked.append(r.url) if not r.url.startswith(live_server) else None)

    page.goto(f"{live_server}/reports/overview")
    assert "/auth/login" in page.url
    page.fill("input[name=email]", "chief@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/reports/overview")

    assert _traces(page, "trend") == 2  # interval band + line of the one questionnaire version
    assert _traces(page, "elements") == 1
    assert page.locator("#table-elements tbody tr").count() == 5
    before = page.inner_text("#responses")
    page.screenshot(path=artifacts / "reports-overview.png", full_page=True)

    page.goto(f"{live_server}/reports/ranking")
    assert _traces(page, "ranking") == 3  # above, not different, below the scope's average
    bars = page.evaluate("document.getElementById('chart-ranking').data.map(t => t.y.length)")
    assert sum(bars) == page.locator("#table-ranking tbody tr").count() > 10
    page.click("#table-ranking thead th:nth-child(4) button")  # sort by n, ascending
    assert page.get_attribute("#table-ranking thead th:nth-child(4)", "aria-sort") == "ascending"
    counts = [int(v) for v in page.locator("#table-ranking tbody td:nth-child(4)").all_inner_texts()]
    assert counts == sorted(counts)
    page.screenshot(path=artifacts / "reports-ranking.png", full_page=True)

    page.goto(f"{live_server}/reports/overview")
    page.click("details.filters summary")
    page.check("input[name=verified]")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**verified=1**")
    after = page.inner_text("#responses")
    assert int(after) < int(before)
    ranking_link = page.locator("nav.tabs a[href^='/reports/ranking']").get_attribute("href")
    assert "verified=1" in ranking_link
    page.screenshot(path=artifacts / "reports-overview-verified.png", full_page=True)

    with page.expect_download() as download_info:
        page.click("a[href*='/reports/export/indices.csv']")
    text = download_info.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["code"] == "OVERALL" and rows[0]["agency"] == "DEMO"
    assert int(rows[0]["n"]) <= int(after)
    assert not blocked, f"requests to other hosts: {blocked}"
    context.close()
