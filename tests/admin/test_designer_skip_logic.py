"""The designer and skip logic (issue 17, part 4): a question's condition is edited with a question
picker, an operator and a value; questions and elements are reordered by Move up / Move down (server
side, without JavaScript) and a move that would put a question before the one its condition reads is
refused with a message, keeping the order."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import QuestionnaireVersion
from app.services.questionnaires.designer import check_definition
from tests.admin.conftest import login_as
from tests.admin.test_designer_form import _form


def _draft(client, template):
    client.post("/admin/questionnaires/new", data={"template": template, "code": "trial"})
    return db.session.scalar(select(QuestionnaireVersion))


def _step(client, url, name, **changes):
    fields = MultiDict(_form(client.get(url).get_data(as_text=True)))
    for key, value in changes.items():
        fields[key] = value
    fields["step"] = name
    return client.post(url, data=fields, follow_redirects=True)


def _codes(draft, element=None):
    db.session.refresh(draft)
    if element is None:
        return [q["code"] for q in draft.definition["questions"]]
    return [q["code"] for q in draft.definition["elements"][element]["questions"]]


def test_sipas_2017_round_trips_with_its_conditions_and_shows_them(client, tree):
    login_as(client, tree.users["designer"])
    draft = _draft(client, "sipas-2017.yaml")
    before = check_definition(draft.definition, "t")[0].definition
    url = f"/admin/questionnaires/versions/{draft.id}/design"
    page = client.get(url).get_data(as_text=True)
    # E5_1 (element 5, question 1): its picker shows FEEDBACK, "is", "yes"
    assert '<select name="e4_q1_if_q">' in page
    start = page.index('name="e4_q1_if_q"')
    picker = page[start:page.index("</select>", start)]
    assert '<option value="FEEDBACK" selected>FEEDBACK</option>' in picker
    # the picker offers the questions before E5_1 only
    assert '<option value="E1_1">' in picker and 'value="E5_1"' not in picker and 'value="E5_2"' not in picker
    assert 'name="e4_q1_if_value" value="yes"' in page
    assert 'value="move_question:4:1:0"' in page and 'value="move_element:4:3"' in page
    assert "Chuyển lên" in page and "Chuyển xuống" in page and "Chỉ hỏi khi câu trả lời cho câu" in page
    _step(client, url, "save")
    db.session.refresh(draft)
    assert check_definition(draft.definition, "t")[0].definition == before


def test_a_condition_is_edited_by_picker_operator_and_value(client, tree):
    login_as(client, tree.users["designer"])
    draft = _draft(client, "sipas-short.yaml")
    url = f"/admin/questionnaires/versions/{draft.id}/design"
    # COMMENT (the second other question) only for a low overall rating
    _step(client, url, "save", g_q1_if_q="OVERALL", g_q1_if_op="at_most", g_q1_if_value="2")
    db.session.refresh(draft)
    comment = draft.definition["questions"][1]
    assert comment["code"] == "COMMENT" and comment["show_if"] == {"question": "OVERALL", "at_most": 2}
    questionnaire, errors = check_definition(draft.definition, "t")
    assert errors == [] and questionnaire.skipped({"OVERALL": 3}) == {"COMMENT"}
    _step(client, url, "save", g_q1_if_q="OVERALL", g_q1_if_op="one_of", g_q1_if_value="1, 2")
    db.session.refresh(draft)
    assert draft.definition["questions"][1]["show_if"] == {"question": "OVERALL", "one_of": [1, 2]}
    # a later question, and a value the scale does not have: listed with their key paths
    page = _step(client, url, "save", g_q0_if_q="COMMENT", g_q0_if_op="equals", g_q0_if_value="x",
                 g_q1_if_value="1, 9").get_data(as_text=True)
    assert "draft: questions[0].show_if.question: &#39;COMMENT&#39; comes later" in page
    assert "draft: questions[1].show_if.one_of[1]: 9 is not a rating of OVERALL" in page
    # back to always: the picker's first choice
    _step(client, url, "save", g_q0_if_q="", g_q0_if_op="", g_q0_if_value="", g_q1_if_q="", g_q1_if_op="",
          g_q1_if_value="")
    db.session.refresh(draft)
    assert all("show_if" not in q for q in draft.definition["questions"])


def test_questions_and_elements_move_up_and_down_and_a_move_breaking_a_condition_is_refused(client, tree):
    login_as(client, tree.users["designer"])
    draft = _draft(client, "sipas-2017.yaml")
    url = f"/admin/questionnaires/versions/{draft.id}/design"
    _step(client, url, "move_question:4:1:2")  # E5_1 down
    assert _codes(draft, 4) == ["FEEDBACK", "E5_2", "E5_1", "E5_3", "E5_4"]
    _step(client, url, "move_question:4:2:1")  # and up again
    assert _codes(draft, 4) == ["FEEDBACK", "E5_1", "E5_2", "E5_3", "E5_4"]
    # FEEDBACK below E5_1 would ask E5_1 before the question it depends on: refused, order kept
    page = _step(client, url, "move_question:4:0:1", e4_q1_text_en="Changed text").get_data(as_text=True)
    assert ("Câu E5_1 chỉ được hỏi tùy theo câu trả lời cho câu FEEDBACK, nên phải đứng sau câu đó; "
            "chưa đổi thứ tự.") in page
    assert _codes(draft, 4) == ["FEEDBACK", "E5_1", "E5_2", "E5_3", "E5_4"]
    assert draft.definition["elements"][4]["questions"][1]["text"]["en"] == "Changed text"  # typing kept
    # a drag sends any place: E5_4 to the top of its element is refused too (before FEEDBACK)
    _step(client, url, "move_question:4:4:0")
    assert _codes(draft, 4)[0] == "FEEDBACK"
    # elements: E5 up before E4 (its condition stays inside it), then E1 down
    _step(client, url, "move_element:4:3")
    _step(client, url, "move_element:0:1")
    db.session.refresh(draft)
    assert [e["code"] for e in draft.definition["elements"]] == ["E2", "E1", "E3", "E5", "E4"]
    # the other questions: E5_GEN to the top of them stays after FEEDBACK (elements come first)
    _step(client, url, "move_general:4:0")
    assert _codes(draft)[:2] == ["E5_GEN", "E1_GEN"]
    assert check_definition(draft.definition, "t")[1] == []


def test_moving_an_element_before_the_one_its_condition_reads_is_refused(client, tree):
    login_as(client, tree.users["designer"])
    draft = _draft(client, "sipas-2017.yaml")
    url = f"/admin/questionnaires/versions/{draft.id}/design"
    # E4's first criterion asked only when E3's first is at least 4, then E4 dragged above E3
    _step(client, url, "save", e3_q0_if_q="E3_1", e3_q0_if_op="at_least", e3_q0_if_value="4")
    db.session.refresh(draft)
    assert draft.definition["elements"][3]["questions"][0]["show_if"] == {"question": "E3_1", "at_least": 4}
    page = _step(client, url, "move_element:3:2").get_data(as_text=True)
    assert "Câu E4_1 chỉ được hỏi tùy theo câu trả lời cho câu E3_1, nên phải đứng sau câu đó" in page
    db.session.refresh(draft)
    assert [e["code"] for e in draft.definition["elements"]] == ["E1", "E2", "E3", "E4", "E5"]
