"""A citizen in headless Chromium: scan (a URL from `flask counters list`), answer, submit, stored."""

from __future__ import annotations

import csv
import io

from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from app.extensions import db
from app.models import Response, slot_column
from app.services.questionnaires.versions import questionnaire_of, rating_slots

BUDGET = 60 * 1024
SHORT = {"E1_1": "5 Rất hài lòng", "E2_1": "4 Hài lòng", "E3_1": "5 Rất hài lòng",
         "E4_1": "3 Bình thường", "E5_1": "2 Không hài lòng", "OVERALL": "4 Hài lòng"}


def counter_url(runner, code: str) -> str:
    """The public address of a counter, as `flask counters list` prints it."""
    result = runner.invoke(args=["counters", "list", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = {row["code"]: row["url"] for row in csv.DictReader(io.StringIO(result.output))}
    return rows[code]


def stored() -> list[Response]:
    """Responses committed by the server thread."""
    db.session.rollback()
    return list(db.session.scalars(select(Response).order_by(Response.id)))


def serious_violations(page) -> list[str]:
    """axe-core violations of impact serious or critical on the current page."""
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]


def answer(page, answers: dict[str, str]) -> None:
    """Tap one rating, by its words, in each question's fieldset."""
    for code, name in answers.items():
        show(page, code)
        field = page.locator(f"#q-{code}")
        if "quick" in (field.get_attribute("class") or ""):
            name = name.split(" ", 1)[1]  # the quick rating's faces carry words, no numbers
        field.get_by_role("radio", name=name, exact=True).check()


def show(page, code: str) -> None:
    """Bring a question into view: open "more questions" after the quick rating, or go to its screen."""
    page.evaluate("""id => { const f = document.getElementById(id); const more = f && f.closest('details');
        if (more) more.open = true; if (window.surveyGoto) window.surveyGoto(id); }""", f"q-{code}")


def test_phone_scan_answer_in_vietnamese_and_submit(phone, runner, org, artifacts, live_server):
    url = counter_url(runner, "T01-Q2")
    assert url.startswith(live_server + "/s/")
    page = phone()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url)
    assert page.get_by_role("heading", level=1).inner_text() == "Quầy T01-Q2"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    page.get_by_text("Trả lời thêm 6 câu hỏi (không bắt buộc)").click()  # after the quick rating
    page.get_by_label("Ông/Bà đã sử dụng dịch vụ (thủ tục) nào?").select_option(label="Đăng ký kết hôn")
    answer(page, SHORT)
    page.get_by_role("textbox", name="Góp ý thêm (không bắt buộc)").fill("Cán bộ nhiệt tình")
    page.screenshot(path=artifacts / "survey-short-phone.png", full_page=True)
    page.get_by_role("button", name="Gửi đánh giá").last.click()
    page.wait_for_url("**/thanks?n=*")
    assert page.get_by_role("heading", level=1).inner_text() == "Xin cảm ơn!"
    page.screenshot(path=artifacts / "thanks-phone.png")
    assert all(u.startswith(live_server) for u in requested), requested
    [row] = stored()
    slots = rating_slots(questionnaire_of(org.short_version))
    assert {code: getattr(row, slot_column(slots[code])) for code in SHORT} == {
        code: int(name[0]) for code, name in SHORT.items()}
    assert row.answers == {"COMMENT": "Cán bộ nhiệt tình"}
    assert (row.channel, row.service_id, row.suspicious) == ("qr", org.marriage.id, False)


def test_without_javascript_errors_then_success_on_the_full_form(phone, runner, org, artifacts):
    page = phone(javascript=False)
    page.goto(counter_url(runner, "T01-Q1"))
    questionnaire = questionnaire_of(org.full_version)
    likert = {q.code: "4 Hài lòng" for q in questionnaire.all_questions()
              if q.type == "likert" and q.code != "OVERALL"}
    answer(page, likert)
    page.locator("#q-E1_3").get_by_role("radio", name="Không áp dụng").check()
    page.get_by_role("checkbox", name="Rút ngắn thời gian giải quyết").check()
    page.locator("#q-GENDER").get_by_role("radio", name="Nữ").check()
    page.get_by_role("button", name="Gửi đánh giá").last.click()  # OVERALL, required, is missing
    page.wait_for_load_state()
    assert page.get_by_role("alert").is_visible()
    assert " ".join(page.locator("#e-OVERALL").inner_text().split()) == "Lỗi: Vui lòng trả lời câu hỏi này."
    assert page.locator("#q-E2_1").get_by_role("radio", name="4 Hài lòng").is_checked()
    assert stored() == []
    page.locator("#q-OVERALL").get_by_role("radio", name="5 Rất hài lòng").check()
    page.get_by_role("button", name="Gửi đánh giá").last.click()
    page.wait_for_url("**/thanks?n=*")
    page.screenshot(path=artifacts / "thanks-nojs-phone.png")
    [row] = stored()
    slots = rating_slots(questionnaire)
    assert getattr(row, slot_column(slots["OVERALL"])) == 5
    assert getattr(row, slot_column(slots["E2_1"])) == 4
    assert getattr(row, slot_column(slots["E1_3"])) is None
    assert row.answers == {"EXPECT": ["processing_time"], "GENDER": "f"}


def test_full_form_in_the_browser_fits_the_budget(phone, runner, org, artifacts, live_server):
    page = phone()
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(counter_url(runner, "T01-Q1"))
    page.wait_for_load_state("networkidle")
    assert all(r.url.startswith(live_server) for r in responses)
    total = sum(len(r.body()) for r in responses)
    assert total <= BUDGET, f"{total} bytes loaded"
    answer(page, {"E1_1": "5 Rất hài lòng", "E1_2": "4 Hài lòng"})
    assert page.locator("#progress span").inner_text() == "2/28"  # element 5 waits for FEEDBACK (issue 17)
    page.screenshot(path=artifacts / "survey-full-phone.png")


def test_survey_and_thanks_pages_pass_axe(phone, runner, org):
    page = phone()
    for code in ("T01-Q1", "T01-Q2"):
        page.goto(counter_url(runner, code))
        assert serious_violations(page) == [], code
    page.get_by_role("button", name="Gửi đánh giá").last.click()  # the short form, OVERALL missing
    page.wait_for_load_state()
    assert serious_violations(page) == []
    answer(page, SHORT)
    page.get_by_role("button", name="Gửi đánh giá").last.click()
    page.wait_for_url("**/thanks?n=*")
    assert serious_violations(page) == []
    page.goto(f"{counter_url(runner, 'T01-Q2')}?lang=en")
    assert page.get_by_role("heading", level=1).inner_text() == "Counter T01-Q2"
    assert serious_violations(page) == []
