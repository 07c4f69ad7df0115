"""Issue 16: every citizen page on any phone, in both languages (320, 360 and 412 px wide)."""

from __future__ import annotations

import pytest

from app.services.collect import issue_receipt_code

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
        "receipt": f"{live_server}/r/{issue_receipt_code(org.short, f'HS-{width}-{lang}')}",
        "case-not-found": f"{live_server}/c/NO-SUCH-CASE",
    }
    for name, where in pages.items():
        page.goto(f"{where}?lang={lang}")
        _fits(page, width)
        if name in ("receipt", "form-short", "kiosk"):
            assert page.locator("form.survey fieldset.quick").count() == 1, name
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
    # The kiosk without JavaScript: one face, send, its own thank-you page.
    page.goto(f"{pages['kiosk']}?lang={lang}")
    page.locator("#q-OVERALL input[value='5']").check()
    page.locator("button.send").first.click()
    page.wait_for_url("**/k/*/thanks?n=*")
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


# ------------------------------------------------------------------ issue 16 in the browser

def _stored():
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Response
    db.session.rollback()
    return list(db.session.scalars(select(Response).order_by(Response.id)))


def _overall(org, row, version=None):
    from app.models import slot_column
    from app.services.questionnaires.versions import questionnaire_of, rating_slots
    slots = rating_slots(questionnaire_of(version or org.short_version))
    return getattr(row, slot_column(slots["OVERALL"]))


def _send(page):
    with page.expect_navigation():
        page.locator("button.send:visible").first.click()


def test_errors_with_javascript_lead_to_the_question_on_its_screen(sized, org, live_server):
    page = sized(360, "en")
    page.goto(f"{address(live_server, org.full)}?lang=en")
    assert page.locator("fieldset.q:visible").count() == 1  # one question per screen
    page.evaluate("window.surveyGoto('q-AGE_GROUP')")  # the last screen, OVERALL left unanswered
    _send(page)
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.title().startswith("Error: ")
    link = page.locator("#error-summary a")
    assert link.count() == 1 and link.inner_text().startswith("29. Overall")  # v2 adds FEEDBACK (issue 17)
    link.click()
    assert page.locator("fieldset.q:visible").evaluate_all("fs => fs.map(f => f.id)") == ["q-OVERALL"]
    assert page.evaluate("document.activeElement.name") == "q-OVERALL"
    assert page.locator("#q-OVERALL").get_attribute("aria-invalid") == "true"
    # Element 5 waits for FEEDBACK = yes: 28 screens, OVERALL the 24th (its number stays 29)
    assert page.locator(".stepnav .where").inner_text() == "Question 24 of 28"
    page.locator("#q-OVERALL").get_by_role("radio", name="5 Very satisfied").check()
    page.evaluate("window.surveyGoto('q-AGE_GROUP')")
    _send(page)
    page.wait_for_url("**/thanks?n=*")
    assert len(_stored()) == 1


def test_quick_rating_with_a_screen_reader_and_the_keyboard_alone(sized, org, live_server):
    page = sized(360, "en")
    page.goto(f"{address(live_server, org.short)}?lang=en")
    group = page.get_by_role("group", name="Overall, how satisfied are you with the service today?")
    names = [r.get_attribute("value") for r in group.get_by_role("radio").all()]
    assert names == ["1", "2", "3", "4", "5"]
    assert group.get_by_role("radio", name="Very satisfied", exact=True).count() == 1
    for _ in range(12):  # Tab from the top of the page to the faces
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "q-OVERALL":
            break
    assert page.evaluate("document.activeElement.name") == "q-OVERALL"
    page.keyboard.press("ArrowRight")  # arrows choose within the group
    page.keyboard.press("ArrowRight")
    chosen = page.evaluate("document.querySelector('[name=q-OVERALL]:checked').value")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url("**/thanks?n=*")
    [row] = _stored()
    assert _overall(org, row) == int(chosen) and chosen in ("2", "3")


def test_one_question_per_screen_keeps_answers_back_forward_and_after_a_reload(sized, org, live_server):
    page = sized(360, "vi")
    page.goto(address(live_server, org.full))
    where = page.locator(".stepnav .where")
    assert where.inner_text() == "Câu 1 / 28"
    page.locator("#q-E1_1").get_by_role("radio", name="4 Hài lòng").click()  # a tap moves on
    expect_text(where, "Câu 2 / 28")
    page.locator("#q-E1_2").get_by_role("radio", name="2 Không hài lòng").click()
    expect_text(where, "Câu 3 / 28")
    page.get_by_role("button", name="Quay lại").click()
    page.get_by_role("button", name="Quay lại").click()
    assert page.locator("#q-E1_1").get_by_role("radio", name="4 Hài lòng").is_checked()
    page.get_by_role("button", name="Tiếp theo").click()
    assert page.locator("#q-E1_2").get_by_role("radio", name="2 Không hài lòng").is_checked()
    nonce = page.locator("input[name=nonce]").input_value()
    page.reload()
    assert page.locator("input[name=nonce]").input_value() == nonce
    page.evaluate("window.surveyGoto('q-E1_2')")
    assert page.locator("#q-E1_2").get_by_role("radio", name="2 Không hài lòng").is_checked()
    assert page.locator("#progress span").inner_text() == "2/28"


def expect_text(locator, text):
    from playwright.sync_api import expect
    expect(locator).to_have_text(text, timeout=5000)


def _quick(page, word="Hài lòng"):
    page.locator("#q-OVERALL").get_by_role("radio", name=word, exact=True).check()


def test_a_double_tap_on_send_stores_one_response(sized, org, live_server):
    page = sized(360, "vi")
    page.goto(address(live_server, org.short))
    _quick(page)
    with page.expect_navigation(url="**/thanks?n=*"):
        page.locator("button.send").first.dblclick()
    assert len(_stored()) == 1


def test_back_after_sending_and_a_reloaded_thank_you_store_one_response(sized, org, live_server):
    page = sized(360, "vi")
    page.goto(address(live_server, org.short))
    _quick(page, "Rất hài lòng")
    _send(page)
    page.wait_for_url("**/thanks?n=*")
    page.reload()
    page.go_back()
    page.locator("form.survey").wait_for()
    assert page.locator("#q-OVERALL").get_by_role("radio", name="Rất hài lòng", exact=True).is_checked()
    _send(page)  # sent again from the page the back button showed: the same nonce
    page.wait_for_url("**/thanks?n=*")
    page.reload()
    [row] = _stored()
    assert _overall(org, row) == 5


def test_a_dropped_connection_loses_nothing_and_stores_one_response(sized, org, live_server):
    page = sized(360, "vi")
    page.goto(address(live_server, org.short))
    _quick(page, "Bình thường")
    nonce = page.locator("input[name=nonce]").input_value()

    def stored_then_lost(route):  # the server stores it, the answer never reaches the phone
        if route.request.method == "POST":
            route.fetch(max_redirects=0)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/s/*", stored_then_lost)
    try:
        page.locator("button.send").first.click()
        page.wait_for_timeout(500)
    finally:
        page.unroute("**/s/*")
    assert len(_stored()) == 1
    page.goto(address(live_server, org.short))  # the citizen opens the address again
    assert page.locator("input[name=nonce]").input_value() == nonce
    assert page.locator("#q-OVERALL").get_by_role("radio", name="Bình thường", exact=True).is_checked()
    _send(page)
    page.wait_for_url("**/thanks?n=*")
    [row] = _stored()
    assert _overall(org, row) == 3


def test_offline_when_sending_then_online_stores_one_response(sized, org, live_server):
    page = sized(360, "vi")
    page.goto(address(live_server, org.short))
    _quick(page, "Không hài lòng")
    page.context.set_offline(True)
    try:
        page.locator("button.send").first.click()
        page.wait_for_timeout(500)
    finally:
        page.context.set_offline(False)
    assert _stored() == []
    page.goto(address(live_server, org.short))
    assert page.locator("#q-OVERALL").get_by_role("radio", name="Không hài lòng", exact=True).is_checked()
    _send(page)
    page.wait_for_url("**/thanks?n=*")
    [row] = _stored()
    assert _overall(org, row) == 2


TARGETS = """() => [...document.querySelectorAll('a, button, summary, select, textarea, input, label')]
  .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden'
          && !el.closest('.hp, .sr') && !el.classList.contains('skip')
          && !(el.tagName === 'INPUT' && (el.type === 'hidden' || el.closest('label'))))
  .map(el => { const r = el.getBoundingClientRect();
    return [el.tagName + ' ' + (el.textContent || el.name || '').trim().slice(0, 30),
            Math.round(r.width), Math.round(r.height)]; })"""


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_kiosk_touch_targets_are_at_least_48_px_and_it_opens_with_the_quick_rating(
        browser, org, live_server, artifacts, lang):
    context = browser.new_context(viewport={"width": 800, "height": 1280}, has_touch=True)
    page = context.new_page()
    for counter in (org.short, org.full):
        page.goto(f"{address(live_server, counter, kiosk=True)}?lang={lang}")
        first_screen = page.locator("fieldset.q.quick").bounding_box()
        assert first_screen and first_screen["y"] + first_screen["height"] < 1280
        assert page.locator(".face").count() == 5
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 20
        page.evaluate("document.querySelector('details.more').open = true")
        small = [t for t in page.evaluate(TARGETS) if t[1] < 48 or t[2] < 48]
        assert small == [], small
        page.screenshot(path=artifacts / f"kiosk-{lang}-{counter.code}.png")
    context.close()


def test_the_kiosk_officer_marks_the_next_rating_as_helped(browser, org, live_server):
    context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="vi-VN")
    page = context.new_page()
    page.goto(address(live_server, org.short, kiosk=True))
    page.get_by_role("button", name="Cán bộ: tôi đang giúp người dân điền phiếu").click()
    assert page.get_by_role("checkbox", name="Cán bộ đã giúp tôi điền phiếu này").is_checked()
    assert page.locator("#helping").get_attribute("aria-pressed") == "true"
    _quick(page, "Rất hài lòng")
    page.locator("button.send").first.click()
    page.locator("#done").wait_for(state="visible")
    [row] = _stored()
    assert (row.assisted, row.channel, _overall(org, row)) == (True, "kiosk", 5)
    context.close()


def _axe(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {len(v['nodes'])}" for v in results.response["violations"]]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_axe_finds_nothing_on_the_citizen_pages_at_360_px(sized, org, live_server, lang):
    page = sized(360, lang)
    for where in (address(live_server, org.short), address(live_server, org.full),
                  address(live_server, org.short, kiosk=True)):
        page.goto(f"{where}?lang={lang}")
        assert _axe(page) == [], where
        page.evaluate("document.querySelectorAll('details.more').forEach(d => d.open = true)")
        assert _axe(page) == [], where
    page.goto(f"{address(live_server, org.short)}?lang={lang}")
    _send(page)  # nothing answered: the error summary
    assert page.locator("#error-summary").is_visible()
    assert _axe(page) == []
    _quick(page, "Satisfied" if lang == "en" else "Hài lòng")
    _send(page)
    page.wait_for_url("**/thanks?n=*")
    assert _axe(page) == []


@pytest.mark.parametrize("counter", ["short", "full"])
def test_the_form_page_weighs_at_most_30_kb_transferred(sized, org, live_server, counter):
    page = sized(360, "vi")
    loaded = []
    page.on("requestfinished", lambda request: loaded.append(request))
    page.goto(address(live_server, getattr(org, counter)))
    page.wait_for_load_state("networkidle")
    sizes = {r.url.rsplit("/", 1)[-1]: r.sizes()["responseBodySize"] for r in loaded}
    total = sum(sizes.values())
    assert total <= 30 * 1024, sizes
    print(f"{counter}: {total} bytes transferred {sizes}")


def test_a_later_rating_in_the_same_tab_is_stored_as_a_new_response(sized, org, live_server):
    page = sized(360, "vi")
    page.goto(address(live_server, org.short))
    first = page.locator("input[name=nonce]").input_value()
    _quick(page, "Hài lòng")
    _send(page)
    page.wait_for_url("**/thanks?n=*")
    page.goto(address(live_server, org.short))  # someone else rates this counter on the same phone
    assert page.locator("input[name=nonce]").input_value() != first
    assert not page.locator("#q-OVERALL input:checked").count()
    _quick(page, "Rất không hài lòng")
    _send(page)
    page.wait_for_url("**/thanks?n=*")
    assert sorted(_overall(org, row) for row in _stored()) == [1, 4]
