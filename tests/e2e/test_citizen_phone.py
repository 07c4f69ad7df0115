"""Issue 16: every citizen page on any phone, in both languages (320, 360 and 412 px wide)."""

from __future__ import annotations

import pytest

WIDTHS = (320, 360, 412)


def address(live_server, counter, kiosk: bool = False) -> str:
    """A counter's QR (or kiosk) address."""
    return f"{live_server}/{'k' if kiosk else 's'}/{counter.qr_token}"


def _overflow(page) -> list[str]:
    """Elements wider than the viewport, for a readable failure."""
    return page.evaluate("""() => { const w = document.documentElement.clientWidth; const out = [];
      document.querySelectorAll('body *').forEach(el => { const r = el.getBoundingClientRect();
        if (r.right > w + 0.5 && out.length < 5)
          out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right)); });
      return out; }""")


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, _overflow(page)


@pytest.fixture
def sized(browser, live_server):
    contexts = []

    def open_page(width: int, lang: str, javascript: bool = True):
        context = browser.new_context(viewport={"width": width, "height": 740}, is_mobile=True,
                                      has_touch=True, locale="vi-VN", java_script_enabled=javascript)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("width", WIDTHS)
def test_every_citizen_page_fits_the_phone(sized, org, artifacts, live_server, width, lang):
    page = sized(width, lang, javascript=False)
    pages = {
        "form-short": address(live_server, org.short),
        "form-full": address(live_server, org.full),
        "kiosk": address(live_server, org.short, kiosk=True),
        "kiosk-full": address(live_server, org.full, kiosk=True),
        "landing": address(live_server, org.empty),
        "not-found": f"{live_server}/s/unknown-token",
        "receipt-invalid": f"{live_server}/r/not-a-code",
        "home": f"{live_server}/",
    }
    for name, where in pages.items():
        page.goto(f"{where}?lang={lang}")
        _fits(page, width)
        if name == "form-full" and width == 320:
            page.screenshot(path=artifacts / f"phone-320-{lang}-full.png", full_page=True)
    # The form sent empty comes back with its errors; then the thank-you page.
    page.goto(f"{pages['form-full']}?lang={lang}")
    with page.expect_navigation():
        page.locator("button.send").last.click()
    _fits(page, width)
    page.locator("#q-OVERALL input[value='4']").check()
    page.locator("button.send").last.click()
    page.wait_for_url("**/thanks?n=*")
    _fits(page, width)


def test_the_sticky_progress_bar_never_covers_a_question_title(sized, org, live_server):
    page = sized(320, "en", javascript=False)
    page.goto(f"{address(live_server, org.full)}?lang=en")
    page.evaluate("document.getElementById('progress').hidden = false")  # as survey.js shows it
    for code in ("E3_1", "OVERALL", "AGE_GROUP"):
        page.goto(f"{address(live_server, org.full)}?lang=en#q-{code}")
        page.evaluate("document.getElementById('progress').hidden = false")
        page.evaluate(f"document.getElementById('q-{code}').scrollIntoView()")
        bar = page.locator("#progress").bounding_box()
        title = page.locator(f"#q-{code} legend").bounding_box()
        assert title["y"] >= bar["y"] + bar["height"], (code, bar, title)
