"""The field-by-field designer: the page round-trips a draft, and add/remove steps work."""

from __future__ import annotations

from html.parser import HTMLParser

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import QuestionnaireVersion
from app.services.questionnaires.designer import check_definition
from tests.admin.conftest import login_as


class _Fields(HTMLParser):
    """The values a browser would submit for the page's designer form (no button)."""

    def __init__(self):
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self._select = self._textarea = None
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "option":
            if self._select and "selected" in a:
                self.pairs.append((self._select, a["value"]))
            return
        if tag == "form":
            self._in_form = "designer" in (a.get("class") or "")
        if not self._in_form or not a.get("name"):
            return
        if tag == "input" and (a.get("type") != "checkbox" or "checked" in a):
            self.pairs.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "textarea":
            self._textarea = a["name"]
            self.pairs.append((a["name"], ""))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self._textarea:
            name, value = self.pairs.pop()
            self.pairs.append((name, value + data))

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._in_form = False


def _form(page: str) -> list[tuple[str, str]]:
    parser = _Fields()
    parser.feed(page)
    return [(k, v) for k, v in parser.pairs if k != "step"]


def _new_draft(client, template="sipas-short.yaml"):
    client.post("/admin/questionnaires/new", data={"template": template, "code": "trial"})
    return db.session.scalar(select(QuestionnaireVersion))


def test_the_form_round_trips_a_standard_draft(client, tree):
    login_as(client, tree.users["designer"])
    draft = _new_draft(client)
    before = dict(draft.definition)
    url = f"/admin/questionnaires/versions/{draft.id}/design"
    fields = _form(client.get(url).get_data(as_text=True))
    assert client.post(url, data=MultiDict([*fields, ("step", "save")])).status_code == 200
    db.session.refresh(draft)
    assert check_definition(draft.definition, "t")[1] == []
    after = check_definition(draft.definition, "t")[0]
    assert after.definition == check_definition(before, "t")[0].definition


def test_steps_add_and_remove_elements_and_questions(client, tree):
    login_as(client, tree.users["designer"])
    draft = _new_draft(client, "blank")
    url = f"/admin/questionnaires/versions/{draft.id}/design"

    def step(name, **changes):
        fields = MultiDict(_form(client.get(url).get_data(as_text=True)))
        for key, value in changes.items():
            fields[key] = value
        fields["step"] = name
        return client.post(url, data=fields)

    step("add_element")
    step("add_question:1", e1_title_vi="Công chức", e1_title_en="Staff", e1_weight="2")
    db.session.refresh(draft)
    elements = draft.definition["elements"]
    assert [e["code"] for e in elements] == ["E1", "E2"] and elements[1]["weight"] == 2
    assert [q["code"] for q in elements[1]["questions"]] == ["E2_1", "E2_2"]
    step("add_general")
    page = step("save", g_q0_type="single", g_q0_text_vi="Giới tính", g_q0_text_en="Gender",
                e0_q0_required="y").get_data(as_text=True)
    assert 'id="errors"' in page  # new likert texts are empty and a single question needs options
    step("save", g_q0_options="m | Nam | Male\nf | Nữ | Female", e1_q0_text_vi="a", e1_q0_text_en="a",
         e1_q1_text_vi="b", e1_q1_text_en="b")
    db.session.refresh(draft)
    assert check_definition(draft.definition, "t")[1] == []
    female = {"value": "f", "label": {"vi": "Nữ", "en": "Female"}}
    assert draft.definition["questions"][0]["options"][1] == female
    assert draft.definition["elements"][0]["questions"][0]["required"] is True
    step("del_question:1:0")
    step("del_element:0")
    db.session.refresh(draft)
    assert [e["code"] for e in draft.definition["elements"]] == ["E2"]
    assert [q["code"] for q in draft.definition["elements"][0]["questions"]] == ["E2_2"]


def test_published_versions_are_not_editable_by_form(client, tree):
    login_as(client, tree.users["designer"])
    draft = _new_draft(client)
    client.post(f"/admin/questionnaires/versions/{draft.id}/publish")
    response = client.post(f"/admin/questionnaires/versions/{draft.id}/design", data={"title_vi": "x"})
    assert response.status_code == 302
    db.session.refresh(draft)
    assert draft.definition["title"]["vi"] != "x"
