"""Skip logic on the citizen's form (issue 17, part 4): SIPAS-2017 version 2 asks element 5 only of those
who gave feedback. Without JavaScript every question is shown with "Answer only if ..."; the server drops
answers to questions whose condition is not met, never requires them, and the reports and the responses
CSV leave them out (not applicable: not counted, not missing, not dissatisfied)."""

from __future__ import annotations

import copy

from sqlalchemy import func, select

from analysis.questionnaire import parse_questionnaire
from app.extensions import db
from app.models import Response, slot_column
from app.models.report_cell import ReportCell
from app.services.collect.submit import parse_answers
from app.services.exchange.responses_csv import ExportFilter, export_rows
from app.services.questionnaires.versions import questionnaire_of, rating_slots
from tests.analysis.test_skip_logic import BASE
from tests.public.conftest import post_form

E5 = ("E5_1", "E5_2", "E5_3", "E5_4", "E5_GEN")


def _answers(feedback: str, e5: str) -> dict:
    answers = {f"q-{code}": e5 for code in E5}
    answers.update({"q-FEEDBACK": feedback, "q-OVERALL": "4", "q-E1_1": "5"})
    return answers


def test_the_form_without_javascript_says_when_to_answer_in_both_languages(client, org):
    url = f"/s/{org.full.qr_token}"
    html = client.get(url).get_data(as_text=True)
    # FEEDBACK is question 19 (after 4 + 5 + 6 + 3 criteria); each of element 5's questions says so.
    assert '<span class="n">19.</span> Ông/Bà có góp ý, phản ánh, kiến nghị' in html
    note = "Chỉ trả lời nếu câu trả lời của Ông/Bà cho câu 19 là “Có”."
    assert html.count(note) == 5
    assert 'data-show-if="{&#34;field&#34;: &#34;q-FEEDBACK&#34;, &#34;op&#34;: &#34;equals&#34;, ' \
           '&#34;values&#34;: [&#34;yes&#34;]}"' in html
    english = client.get(url + "?lang=en").get_data(as_text=True)
    assert english.count("Answer only if your answer to question 19 was “Yes”.") == 5


def test_answers_to_skipped_questions_are_not_stored_nor_counted(client, org):
    url = f"/s/{org.full.qr_token}"
    # "No" but element 5 answered anyway (a form without JavaScript shows it): dropped.
    assert post_form(client, url, _answers("no", "1")).status_code == 303
    assert post_form(client, url, _answers("yes", "5")).status_code == 303
    db.session.expire_all()
    skipped, applicable = db.session.scalars(select(Response).order_by(Response.id)).all()
    slots = rating_slots(questionnaire_of(org.full_version))
    assert org.full_version.version == 2
    for code in E5:
        assert getattr(skipped, slot_column(slots[code])) is None
        assert getattr(applicable, slot_column(slots[code])) == 5
    assert skipped.answers == {"FEEDBACK": False} and applicable.answers == {"FEEDBACK": True}
    assert getattr(skipped, slot_column(slots["OVERALL"])) == 4  # the rest is kept
    # The reports' cells: element 5's criteria answered once (by "yes"), satisfied once; nothing
    # counted as answered-and-dissatisfied for the "no" response.
    slot = slots["E5_1"]
    cells = db.session.execute(select(func.sum(ReportCell.n), func.sum(getattr(ReportCell, f"a{slot}")),
                                      func.sum(getattr(ReportCell, f"s{slot}")),
                                      func.sum(getattr(ReportCell, f"r{slot}")),
                                      func.sum(getattr(ReportCell, f"a{slots['E1_1']}")))
                               .where(ReportCell.version_id == org.full_version.id)).one()
    assert tuple(cells) == (2, 1, 1, 5, 2)
    # The responses CSV: the skipped cells are empty, FEEDBACK says why.
    header, *rows = list(export_rows(ExportFilter("sipas-2017"), "Asia/Ho_Chi_Minh"))
    by_column = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(r["FEEDBACK"], r["E5_1"], r["E5_GEN"], r["OVERALL"]) for r in by_column] == [
        ("no", "", "", "4"), ("yes", "5", "5", "4")]


def test_unanswered_feedback_skips_element_5_and_a_bad_answer_there_is_not_an_error(client, org):
    url = f"/s/{org.full.qr_token}"
    answers = _answers("", "9")  # 9 is no rating; but element 5 does not apply: nothing to refuse
    assert post_form(client, url, answers).status_code == 303
    answers = _answers("yes", "9")
    page = post_form(client, url, answers)
    assert page.status_code == 422 and 'href="#q-E5_1"' in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Response.id))) == 1


def test_a_required_question_whose_condition_is_not_met_is_not_required():
    qn = parse_questionnaire(copy.deepcopy(BASE))  # E1_1 is required, asked only when FEEDBACK is yes
    assert qn.question("E1_1").required
    assert parse_answers(qn, {"FEEDBACK": ["no"]}).errors == {}
    assert parse_answers(qn, {}).errors == {}
    assert parse_answers(qn, {"FEEDBACK": ["yes"]}).errors == {"E1_1": "required"}
    parsed = parse_answers(qn, {"FEEDBACK": ["yes"], "E1_1": ["2"], "E1_2": ["1"], "HOW": ["b"],
                                "WHY": ["because"], "AGE": ["61"], "OLD": ["yes"]})
    assert parsed.errors == {} and parsed.answers == {"FEEDBACK": True, "HOW": "b", "AGE": 61, "OLD": True}
    assert sorted(parsed.ratings.values()) == [1, 2]


def _multi_questionnaire() -> dict:
    """tests/analysis' questionnaire with a multiple choice and a question that depends on it."""
    doc = copy.deepcopy(BASE)
    doc["questions"].insert(2, {"code": "TICK", "type": "multi", "text": {"vi": "Chọn", "en": "Pick"},
                                "options": [{"value": "x", "label": {"vi": "Ích", "en": "Ex"}},
                                            {"value": "y", "label": {"vi": "Y", "en": "Why"}}]})
    doc["questions"].insert(3, {"code": "TICKED", "type": "text", "text": {"vi": "T", "en": "T"},
                                "show_if": {"question": "TICK", "one_of": ["x", "y"]}})
    doc["questions"].append({"code": "NPS", "type": "nps", "text": {"vi": "N", "en": "N"}})
    return doc


def test_the_notes_word_every_operator_in_both_languages(app):
    from flask_babel import refresh

    from app.web.survey_form import survey_sections

    qn = parse_questionnaire(_multi_questionnaire())
    expected = {
        "en": {"E1_1": "Answer only if your answer to question 1 was “Yes”.",
               "E1_2": "Answer only if your answer to question 2 was 2 (2) or less.",
               "WHY": "Answer only if your answer to question 4 was one of: “A”.",
               "TICKED": "Answer only if you chose “Ex”, “Why” in question 6.",
               "OLD": "Answer only if your answer to question 8 was 60 or more."},
        "vi": {"E1_1": "Chỉ trả lời nếu câu trả lời của Ông/Bà cho câu 1 là “Có”.",
               "E1_2": "Chỉ trả lời nếu câu trả lời của Ông/Bà cho câu 2 là 2 (2) trở xuống.",
               "WHY": "Chỉ trả lời nếu câu trả lời của Ông/Bà cho câu 4 là một trong các lựa chọn: “A”.",
               "TICKED": "Chỉ trả lời nếu Ông/Bà đã chọn “Ích”, “Y” ở câu 6.",
               "OLD": "Chỉ trả lời nếu câu trả lời của Ông/Bà cho câu 8 là 60 trở lên."},
    }
    for lang, notes in expected.items():
        with app.test_request_context(f"/?lang={lang}"):
            refresh()  # the test's app context is shared: forget the language chosen before
            views = {q.code: q for s in survey_sections(qn, lang) for q in s.questions}
        assert {code: v.condition_note for code, v in views.items() if v.condition_note} == notes
        assert views["FEEDBACK"].condition_note == "" and views["FEEDBACK"].condition_rule == ""
    assert views["TICKED"].condition_rule == '{"field": "q-TICK", "op": "one_of", "values": ["x", "y"]}'
    assert views["E1_2"].condition_rule == '{"field": "q-E1_1", "op": "at_most", "values": [2]}'
