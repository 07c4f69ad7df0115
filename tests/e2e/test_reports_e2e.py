"""A leader in headless Chromium: log in, read the overview and the ranking, see the charts' traces,
change a filter and see the numbers change, download the indices CSV; screenshots saved."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import Agency, Response
from app.services.exchange.demo import build_demo
from app.services.questionnaires.versions import latest_published, questionnaire_of, rating_slots
from app.services.reports import cells as report_cells
from app.services.reports import estimates as rs
from tests.admin.conftest import PASSWORD, make_user
from tests.e2e.test_citizen_flow import serious_violations

PAGES = ("overview", "ranking", "detail", "comments", "print")
# The elements reaching past the window's right edge, innermost first (for the failure message).
WIDEST = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
    .slice(-5)
    .map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))
    .join(', ')"""


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
    page.click("#table-ranking thead th:nth-child(7) button")  # sort by n, ascending
    assert page.get_attribute("#table-ranking thead th:nth-child(7)", "aria-sort") == "ascending"
    counts = [int(v) for v in page.locator("#table-ranking tbody td:nth-child(7)").all_inner_texts()]
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


def _login(page, live_server: str) -> None:
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=email]", "chief@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_reports_are_light_accessible_and_fit_a_phone(app, browser, live_server, artifacts):
    """Issue 15: the overview's first load <= 1 MB on the wire; axe finds nothing serious or critical on
    any report page in either language; no page scrolls sideways at 360 px; ranking labels are not cut."""
    build_demo(seed=7, responses=2000, end_month=date(2025, 12, 1))
    province = db.session.scalar(select(Agency).where(Agency.code == "DEMO"))
    make_user("chief@example.org", "leader", province)
    db.session.commit()
    rs.CACHE.clear()
    app.config["PUBLIC_SCOREBOARD"] = True

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    _login(page, live_server)
    # A cold first load: every byte of every response counted (compressed sizes, as on the wire).
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    sizes: dict[str, int] = {}
    urls: dict[str, str] = {}
    cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished",
           lambda e: sizes.__setitem__(urls.get(e["requestId"], e["requestId"]), e["encodedDataLength"]))
    page.goto(f"{live_server}/reports/overview")
    page.wait_for_selector("#chart-trend[data-drawn]", timeout=20_000)
    page.wait_for_load_state("networkidle")
    total = sum(sizes.values())
    listing = [f"{n}\t{u}" for u, n in sorted(sizes.items(), key=lambda kv: -kv[1])]
    (artifacts / "reports-transfer.txt").write_text("\n".join([*listing, f"{total}\ttotal"]) + "\n")
    assert total <= 1_000_000, sizes
    plotly = next(n for u, n in sizes.items() if "plotly" in u)
    assert plotly < 600_000  # the partial bundle, compressed
    cdp.detach()

    for lang in ("vi", "en"):
        for width in (360, 1280):
            page.set_viewport_size({"width": width, "height": 800})
            for name in (*PAGES, "scoreboard", f"agencies/{province.id}"):
                page.goto(f"{live_server}/reports/{name}?lang={lang}")
                page.wait_for_load_state("networkidle")
                if name in ("overview", "ranking", "detail"):
                    page.wait_for_selector(".chart[data-drawn]", timeout=20_000)
                shot = name.replace("/", "-")
                page.screenshot(path=artifacts / f"reports-{shot}-{lang}-{width}.png", full_page=True)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                where = f"{name} {lang} {width}px"
                assert overflow <= 0, f"{where} scrolls sideways by {overflow}px: " + page.evaluate(WIDEST)
                if width == 360:
                    assert serious_violations(page) == [], f"{name} {lang}"
            # Ranking labels: each y tick label lies inside the chart (not cut at its left edge).
            page.goto(f"{live_server}/reports/ranking?lang={lang}")
            page.wait_for_selector("#chart-ranking[data-drawn]", timeout=20_000)
            cut = page.evaluate("""() => {
                const box = document.getElementById('chart-ranking').getBoundingClientRect();
                return [...document.querySelectorAll('#chart-ranking .ytick text')]
                    .filter(t => t.getBoundingClientRect().left < box.left - 1).length; }""")
            assert cut == 0, f"{cut} ranking labels cut ({lang}, {width}px)"

    # The current month with two responses: not a point of the line, a hollow marker named in the legend.
    version = latest_published("sipas-2017")
    ratings = {f"r{slot}": 4 for slot in set(rating_slots(questionnaire_of(version)).values())}
    for i in range(2):
        row = Response(uid=f"now-{i}", version_id=version.id, agency_id=province.id, channel="qr",
                       submitted_at=datetime.now(UTC), answers={}, **ratings)
        db.session.add(row)
        db.session.flush()
        report_cells.add_response(version.id, row.id)
    db.session.commit()
    this_month = datetime.now(UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")
    for lang, words in (("vi", "Ít hơn 30 phiếu"), ("en", "Fewer than 30 responses")):
        page.set_viewport_size({"width": 360, "height": 800})
        page.goto(f"{live_server}/reports/overview?lang={lang}&start=2025-01&end={this_month}")
        page.wait_for_selector("#chart-trend[data-drawn]", timeout=20_000)
        assert page.locator("#period-incomplete").count() == 1
        hollow = page.evaluate("document.getElementById('chart-trend').data.filter(t => t.meta === 'small')"
                               ".map(t => [t.x, t.name, t.marker.symbol])")
        assert hollow == [[[this_month], hollow[0][1], "circle-open"]] and words in hollow[0][1]
        assert words in page.inner_text("#chart-trend")  # the legend says why
        page.screenshot(path=artifacts / f"reports-overview-current-{lang}-360.png", full_page=True)
    context.close()
