"""End-to-end fixtures: the app served over the test database, and Debian's headless Chromium."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.extensions import db
from tests.public.conftest import build_org

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items):
    """Everything under tests/e2e is an end-to-end test."""
    for item in items:
        if "/tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


# One Playwright and one Chromium per test session, even when other test modules import
# this fixture (a second sync Playwright inside the first one's event loop would fail).
_SHARED: dict = {}


def _chromium():
    if "browser" not in _SHARED:
        from playwright.sync_api import sync_playwright

        _SHARED["playwright"] = sync_playwright().start()
        _SHARED["browser"] = _SHARED["playwright"].chromium.launch(executable_path=CHROMIUM,
                                                                    args=CHROMIUM_ARGS)
    return _SHARED["browser"]


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing; install Debian's chromium to run the browser tests")
    yield _chromium()
    if "browser" in _SHARED:
        _SHARED.pop("browser").close()
        _SHARED.pop("playwright").stop()


@pytest.fixture
def live_server(app):
    """The app on 127.0.0.1:<free port> in a thread, with CSRF on as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def org(app):
    """The small organisation of tests/public, committed so the server thread sees it."""
    built = build_org()
    db.session.commit()
    return built


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (gitignored, kept by CI as artifacts)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def phone(browser, live_server):
    """Open a page in a 360-px phone-sized context; yields a function taking javascript on/off."""
    contexts = []

    def open_page(javascript: bool = True, **options):
        context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                      is_mobile=True, has_touch=True, locale="vi-VN",
                                      java_script_enabled=javascript, **options)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def signed_in_phone(browser, live_server, lang: str, email: str = "root@example.org"):
    """A 360-px phone context signed in as `email` (password tests.admin.conftest.PASSWORD), in `lang`;
    the context (close it) and its page."""
    from tests.admin.conftest import PASSWORD

    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{live_server}/auth/login?lang={lang}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    return context, page


def assert_no_sideways_scroll(page) -> None:
    """The page fits a 360-px screen: nothing makes it scroll sideways."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide"
