"""Skip logic in headless Chromium (issue 17, part 4): on SIPAS-2017 version 2, answering "no" to the
feedback question hides element 5 and "yes" shows it; with JavaScript off every question shows with its
"Answer only if ..." note and the server keeps only what applies. The designer's condition and move
controls at 360 px. Screenshots in vi and en under test-artifacts/."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Questionnaire, QuestionnaireVersion, slot_column
from app.services.questionnaires.versions import questionnaire_of, rating_slots
from tests.admin.conftest import PASSWORD, make_user
from tests.e2e.test_citizen_flow import answer, show, stored
from tests.e2e.test_citizen_phone import _overflow

E5 = ("E5_1", "E5_2", "E5_3", "E5_4", "E5_GEN")


def _element_5(draft) -> list[str]:
    return [q["code"] for q in draft.definition["elements"][4]["questions"]][:3]


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_no_hides_element_5_and_yes_shows_it(phone, org, artifacts, live_server):
    page = phone()
    page.goto(f"{live_server}/s/{org.full.qr_token}")
    assert page.locator("#progress span").inner_text() == "0/28"  # 33 questions, element 5's hidden
    for code in E5:
        assert page.locator(f"#q-{code}").is_hidden()
    assert page.locator(".cond-note").first.is_hidden()  # the script shows or hides instead
    show(page, "FEEDBACK")
    feedback = page.locator("#q-FEEDBACK")
    feedback.get_by_role("radio", name="Có", exact=True).check()
    assert page.locator("#progress span").inner_text() == "1/33"
    page.get_by_role("button", name="Tiếp").click()
    page.wait_for_timeout(300)
    assert page.locator("#q-E5_1").is_visible()  # the next screen is element 5's first criterion
    page.locator("#q-E5_1").get_by_role("radio", name="1 Rất không hài lòng").check()
    page.get_by_role("button", name="Quay lại").click()
    page.wait_for_timeout(300)
    _fits(page)
    page.screenshot(path=artifacts / "skip-feedback-vi.png")
    feedback.get_by_role("radio", name="Không", exact=True).check()
    for code in E5:
        assert page.locator(f"#q-{code}").is_hidden()
    assert page.locator("#q-E5_1 input:checked").count() == 0  # the hidden answer is cleared
    page.get_by_role("button", name="Tiếp").click()
    page.wait_for_timeout(300)
    assert page.locator("#q-E1_GEN").is_visible()  # element 5 skipped: the next screen is E1_GEN
    answer(page, {"OVERALL": "4 Hài lòng"})
    show(page, "AGE_GROUP")
    page.get_by_role("button", name="Gửi đánh giá").last.click()
    page.wait_for_url("**/thanks?n=*")
    [row] = stored()
    slots = rating_slots(questionnaire_of(org.full_version))
    assert [getattr(row, slot_column(slots[code])) for code in E5] == [None] * 5
    assert getattr(row, slot_column(slots["OVERALL"])) == 4 and row.answers == {"FEEDBACK": False}


def test_english_screen_of_the_feedback_question(phone, org, artifacts, live_server):
    page = phone()
    page.goto(f"{live_server}/s/{org.full.qr_token}?lang=en")
    show(page, "FEEDBACK")
    page.locator("#q-FEEDBACK").get_by_role("radio", name="Yes", exact=True).check()
    page.wait_for_timeout(400)  # a tap moves on to the next screen: element 5's first criterion
    assert page.locator("#q-E5_1").is_visible()
    show(page, "FEEDBACK")
    _fits(page)
    page.screenshot(path=artifacts / "skip-feedback-en.png")
    page.locator("#q-FEEDBACK").get_by_role("radio", name="No", exact=True).check()
    page.wait_for_timeout(400)
    assert page.locator("#q-E5_1").is_hidden() and page.locator("#q-E1_GEN").is_visible()


@pytest.mark.parametrize("lang, no, yes, note", [
    ("vi", "Không", "Có", "Chỉ trả lời nếu câu trả lời của Ông/Bà cho câu 19 là “Có”."),
    ("en", "No", "Yes", "Answer only if your answer to question 19 was “Yes”."),
])
def test_without_javascript_the_server_keeps_only_what_applies(phone, org, artifacts, live_server,
                                                                lang, no, yes, note):
    page = phone(javascript=False)
    url = f"{live_server}/s/{org.full.qr_token}?lang={lang}"
    page.goto(url)
    assert page.locator("#q-E5_1 .cond-note").inner_text() == note
    assert page.locator("#q-E5_1").is_visible()
    page.locator("#q-FEEDBACK").get_by_role("radio", name=no, exact=True).check()
    for code in E5:  # answered although they do not apply: dropped by the server
        page.locator(f"#q-{code} input[value='1']").check()
    page.locator("#q-OVERALL input[value='5']").check()
    page.locator("#q-FEEDBACK").scroll_into_view_if_needed()
    _fits(page)
    page.screenshot(path=artifacts / f"skip-feedback-nojs-{lang}.png")
    page.locator("button.send.last").click()
    page.wait_for_url("**/thanks?n=*")
    page.goto(url)
    page.locator("#q-FEEDBACK").get_by_role("radio", name=yes, exact=True).check()
    page.locator("#q-E5_1 input[value='2']").check()
    page.locator("#q-OVERALL input[value='3']").check()
    page.locator("button.send.last").click()
    page.wait_for_url("**/thanks?n=*")
    skipped, applicable = stored()
    slots = rating_slots(questionnaire_of(org.full_version))
    assert [getattr(skipped, slot_column(slots[c])) for c in E5] == [None] * 5
    assert [getattr(applicable, slot_column(slots[c])) for c in E5] == [2, None, None, None, None]
    assert (skipped.answers, applicable.answers) == ({"FEEDBACK": False}, {"FEEDBACK": True})
    assert getattr(skipped, slot_column(slots["OVERALL"])) == 5


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_designer_condition_and_move_controls_at_360_px(app, browser, live_server, artifacts, lang):
    make_user("designer@example.org", "administrator")
    db.session.commit()
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{live_server}/auth/login?lang={lang}")
    page.fill("input[name=email]", "designer@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server}/admin/questionnaires?lang={lang}")
    page.select_option("select[name=template]", "sipas-2017.yaml")
    page.fill("input[name=code]", f"skip-{lang}")
    page.click("form:has(select[name=template]) button[type=submit]")
    page.wait_for_url("**/admin/questionnaires/versions/*")
    db.session.rollback()
    draft = db.session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.status == "draft"))
    page.goto(f"{live_server}/admin/questionnaires/versions/{draft.id}/design")
    move_up = "Chuyển lên" if lang == "vi" else "Move up"
    # Keyboard: focus E5_2's Move up and press Enter (a plain submit button: no script needed)
    button = page.locator("button[value='move_question:4:2:1']")
    assert button.inner_text() == move_up
    button.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    db.session.rollback()
    db.session.refresh(draft)
    assert _element_5(draft) == ["FEEDBACK", "E5_2", "E5_1"]
    # Drag E5_1's handle back above E5_2 (designer.js sends the same step). The drag events are
    # dispatched: headless Chromium under Playwright starts no native drag from a mouse gesture here.
    source = page.locator("fieldset.question[data-move='move_question:4'][data-index='2'] .grip")
    target = page.locator("fieldset.question[data-move='move_question:4'][data-index='1'] .grip")
    carried = page.evaluate_handle("() => new DataTransfer()")
    source.dispatch_event("dragstart", {"dataTransfer": carried})
    target.dispatch_event("dragover", {"dataTransfer": carried})
    assert "drop-here" in page.locator("fieldset.question[data-index='1'][data-move='move_question:4']") \
        .get_attribute("class")
    with page.expect_navigation():
        target.dispatch_event("drop", {"dataTransfer": carried})
    db.session.rollback()
    db.session.refresh(draft)
    assert _element_5(draft) == ["FEEDBACK", "E5_1", "E5_2"]
    page.locator("select[name=e4_q1_if_q]").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -120)")
    page.screenshot(path=artifacts / f"skip-designer-{lang}.png")
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = _overflow(page)
    context.close()
    assert width <= 360, wide


def test_every_operator_shows_and_hides_live_in_the_preview(app, browser, live_server, artifacts):
    from tests.public.test_skip_logic_form import _multi_questionnaire

    user = make_user("preview@example.org", "administrator")
    row = Questionnaire(code="skip-ops")
    db.session.add(row)
    db.session.flush()
    draft = QuestionnaireVersion(questionnaire_id=row.id, version=1, status="draft",
                                 definition={**_multi_questionnaire(), "code": "skip-ops"})
    db.session.add(draft)
    db.session.commit()
    assert user.id
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB")
    page = context.new_page()
    page.goto(f"{live_server}/auth/login?lang=en")
    page.fill("input[name=email]", "preview@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server}/admin/questionnaires/versions/{draft.id}/preview?lang=en")

    def shown() -> set[str]:
        return set(page.locator("fieldset.q:visible").evaluate_all("fs => fs.map(f => f.id.slice(2))"))

    always = {"FEEDBACK", "HOW", "TICK", "AGE", "NPS"}
    assert shown() == always
    page.locator("#q-FEEDBACK input[value=yes]").check()
    assert shown() == always | {"E1_1"}
    page.locator("#q-E1_1 input[value='2']").check()  # at_most 2
    assert shown() == always | {"E1_1", "E1_2"}
    page.locator("#q-E1_1 input[value='3']").check()
    assert "E1_2" not in shown()
    page.locator("#q-HOW input[value=a]").check()  # one_of [a]
    page.locator("#q-TICK input[value=y]").check()  # multi, one_of [x, y]
    page.locator("#i-AGE").fill("61")  # at_least 60
    assert shown() == always | {"E1_1", "WHY", "TICKED", "OLD"}
    page.locator("#q-HOW input[value=b]").check()
    page.locator("#q-TICK input[value=y]").uncheck()
    page.locator("#i-AGE").fill("59.5")
    assert shown() == always | {"E1_1"}
    page.locator("#q-FEEDBACK input[value=no]").check()  # E1_2 reads E1_1, hidden with it
    assert shown() == always
    assert page.locator("#q-E1_1 input:checked").count() == 0
    context.close()
