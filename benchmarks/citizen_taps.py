"""Taps and seconds from the QR address to the thank-you page, in headless Chromium (issue 16).

A citizen on a 360 × 740 phone, scripted: every click, check or choice counts as one tap; the seconds
are the browser's wall time from opening the QR address to the thank-you page (page loads and the
form's own delays, no human reading time, so they are a floor, not a citizen's time). The scrolled
height tells how far a thumb travels. Scenarios:

- short form, quick rating only (the face, then send);
- short form, every question (the face, "more questions", the service, five ratings, send);
- SIPAS-2017 by QR with JavaScript: one question per screen, every question answered;
- SIPAS-2017 on the kiosk: the quick rating only.

Run from the repository root (a temporary SQLite database; nothing else is touched):

    .venv/bin/python benchmarks/citizen_taps.py
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests.public.conftest import build_org  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


class Citizen:
    """One scripted citizen: counts taps and the height scrolled."""

    def __init__(self, page):
        self.page, self.taps, self.scrolled = page, 0, 0

    def tap(self, locator) -> None:
        before = self.page.evaluate("scrollY")
        locator.scroll_into_view_if_needed()
        self.scrolled += abs(self.page.evaluate("scrollY") - before)
        locator.click()
        self.taps += 1

    def choose(self, select, label: str) -> None:
        self.tap(select)
        select.select_option(label=label)
        self.taps += 1


def quick_only(citizen: Citizen) -> None:
    citizen.tap(citizen.page.locator(".face").nth(4))
    citizen.tap(citizen.page.locator("button.send").first)


def short_everything(citizen: Citizen) -> None:
    page = citizen.page
    citizen.tap(page.locator(".face").nth(3))
    citizen.tap(page.locator("details.more summary"))
    citizen.choose(page.locator("#service"), "Birth registration")
    for code in ("E1_1", "E2_1", "E3_1", "E4_1", "E5_1"):
        citizen.tap(page.locator(f"#q-{code} input[value='4']").locator(".."))
    citizen.tap(page.locator("button.send.last"))


def full_stepped(citizen: Citizen) -> None:
    page = citizen.page
    steps = page.locator("fieldset.q").count()
    for i in range(steps):
        step = page.locator("fieldset.q:visible")
        shown, kind = step.get_attribute("id"), step.get_attribute("class")
        if "likert" in kind:
            citizen.tap(step.locator("input[value='4']"))
        elif "single" in kind or "multi" in kind:
            citizen.tap(step.locator("input").first)
        if i == steps - 1:
            break
        if "multi" in kind or "text" in kind or "number" in kind:
            citizen.tap(page.locator(".stepnav .next"))
        page.wait_for_function("id => !document.getElementById(id).getClientRects().length", arg=shown)
    citizen.tap(page.locator("button.send.last"))


def run(browser, base: str, path: str, scenario, lang: str = "en") -> tuple[int, float, int]:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    citizen = Citizen(page)
    start = time.perf_counter()
    page.goto(f"{base}{path}?lang={lang}")
    scenario(citizen)
    page.wait_for_url("**/thanks*")
    seconds = time.perf_counter() - start
    context.close()
    return citizen.taps, seconds, citizen.scrolled


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/taps.db",
                          "INSTANCE_PATH": tmp, "RATELIMIT_ENABLED": False, "KIOSK_THANKS_SECONDS": 60})
        with app.app_context():
            db.create_all()
            org = build_org()
            short, full = org.short.qr_token, org.full.qr_token
            server = make_server("127.0.0.1", 0, app, threaded=True)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{server.server_port}"
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                rows = [
                    ("short form, quick rating only", f"/s/{short}", quick_only),
                    ("short form, every question", f"/s/{short}", short_everything),
                    ("SIPAS-2017 by QR, every question, one per screen", f"/s/{full}", full_stepped),
                    ("SIPAS-2017 on the kiosk, quick rating only", f"/k/{full}", quick_only),
                ]
                print(f"{'scenario':52} {'taps':>5} {'seconds':>8} {'scrolled px':>12}")
                for name, path, scenario in rows:
                    if path.startswith("/k/"):
                        taps, seconds, scrolled = run_kiosk(browser, base, path)
                    else:
                        taps, seconds, scrolled = run(browser, base, path, scenario)
                    print(f"{name:52} {taps:>5} {seconds:>8.2f} {scrolled:>12}")
                browser.close()
            server.shutdown()


def run_kiosk(browser, base: str, path: str) -> tuple[int, float, int]:
    """The kiosk thanks on the same page (its answers go through the tablet's queue)."""
    context = browser.new_context(viewport={"width": 800, "height": 1280}, has_touch=True)
    page = context.new_page()
    citizen = Citizen(page)
    start = time.perf_counter()
    page.goto(f"{base}{path}?lang=en")
    quick_only(citizen)
    page.locator("#done [data-sent]").first.wait_for(state="visible")
    seconds = time.perf_counter() - start
    context.close()
    return citizen.taps, seconds, citizen.scrolled


if __name__ == "__main__":
    main()
