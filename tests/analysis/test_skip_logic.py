"""Skip logic in the questionnaire format (issue 17, part 4): `show_if` is validated with its key path,
and `Questionnaire.skipped` says which questions are not applicable to a set of answers."""

from __future__ import annotations

import copy

import pytest

from analysis.errors import QuestionnaireError
from analysis.questionnaire import load_questionnaire, parse_questionnaire

SCALE = {"points": 5, "labels": {"vi": ["1", "2", "3", "4", "5"], "en": ["1", "2", "3", "4", "5"]},
         "satisfied": [4, 5]}
BASE = {
    "code": "skip", "version": 1, "title": {"vi": "T", "en": "T"}, "languages": ["vi", "en"], "scale": SCALE,
    "elements": [{"code": "E1", "title": {"vi": "E", "en": "E"}, "questions": [
        {"code": "FEEDBACK", "type": "yesno", "text": {"vi": "Góp ý?", "en": "Feedback?"}},
        {"code": "E1_1", "type": "likert", "required": True, "text": {"vi": "A", "en": "A"},
         "show_if": {"question": "FEEDBACK", "equals": True}},  # YAML's unquoted yes
        {"code": "E1_2", "type": "likert", "text": {"vi": "B", "en": "B"},
         "show_if": {"question": "E1_1", "at_most": 2}},
    ]}],
    "questions": [
        {"code": "HOW", "type": "single", "text": {"vi": "C", "en": "C"}, "options": [
            {"value": "a", "label": {"vi": "A", "en": "A"}},
            {"value": "b", "label": {"vi": "B", "en": "B"}}]},
        {"code": "WHY", "type": "text", "text": {"vi": "W", "en": "W"},
         "show_if": {"question": "HOW", "one_of": ["a"]}},
        {"code": "AGE", "type": "number", "text": {"vi": "T", "en": "A"}},
        {"code": "OLD", "type": "yesno", "text": {"vi": "O", "en": "O"},
         "show_if": {"question": "AGE", "at_least": 60}},
    ],
}


def test_conditions_parse_normalise_and_say_what_is_skipped():
    qn = parse_questionnaire(copy.deepcopy(BASE))
    assert qn.question("E1_1").show_if.definition() == {"question": "FEEDBACK", "equals": "yes"}
    stored = qn.definition["elements"][0]["questions"]
    assert stored[1]["show_if"] == {"question": "FEEDBACK", "equals": "yes"}
    assert "show_if" not in qn.definition["elements"][0]["questions"][0]  # unchanged without a condition
    assert parse_questionnaire(qn.definition) == qn
    assert qn.skipped({"FEEDBACK": False}) == {"E1_1", "E1_2", "WHY", "OLD"}
    assert qn.skipped({"FEEDBACK": True, "E1_1": 2, "HOW": "a", "AGE": 60}) == set()
    assert qn.skipped({"FEEDBACK": True, "E1_1": 3, "HOW": "b", "AGE": 59.5}) == {"E1_2", "WHY", "OLD"}
    # E1_2 reads E1_1, which is skipped when FEEDBACK is no: its given rating does not count
    assert "E1_2" in qn.skipped({"FEEDBACK": False, "E1_1": 1})
    assert qn.question("WHY").show_if.describe() == "HOW ∈ {a}"
    assert qn.question("E1_2").show_if.describe() == "E1_1 ≤ 2"


def test_sipas_2017_asks_element_5_only_of_those_who_gave_feedback():
    qn = load_questionnaire("surveys/sipas-2017.yaml")
    assert qn.version == 2 and qn.element("E5").questions[0].code == "FEEDBACK"
    assert len(qn.likert_codes()) == 22
    assert qn.skipped({"FEEDBACK": False}) == {"E5_1", "E5_2", "E5_3", "E5_4", "E5_GEN"}
    assert qn.skipped({"FEEDBACK": True}) == set()


def _faults(mutate) -> list[str]:
    doc = copy.deepcopy(BASE)
    mutate(doc)
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(doc, "f.yaml")
    return list(info.value.errors)


def _e(doc, i):
    return doc["elements"][0]["questions"][i]


def _set(i, show_if, outside=False):
    def mutate(doc):
        target = doc["questions"][i] if outside else _e(doc, i)
        target["show_if"] = show_if
    return mutate


@pytest.mark.parametrize("mutate, message", [
    (_set(1, {"question": "E1_2", "equals": 3}),
     "f.yaml: elements[0].questions[1].show_if.question: 'E1_2' comes later; a condition can only read "
     "an earlier question"),
    (_set(1, {"question": "E1_1", "equals": 3}),
     "f.yaml: elements[0].questions[1].show_if.question: a question cannot depend on itself"),
    (_set(1, {"question": "NOPE", "equals": "yes"}),
     "f.yaml: elements[0].questions[1].show_if.question: unknown question 'NOPE'"),
    (_set(1, {"question": "FEEDBACK", "equals": "maybe"}),
     "f.yaml: elements[0].questions[1].show_if.equals: 'maybe' is not an answer of yes/no question FEEDBACK "
     "(yes or no)"),
    (_set(1, {"question": "FEEDBACK", "at_most": 1}),
     "f.yaml: elements[0].questions[1].show_if.at_most: cannot be used with yesno question FEEDBACK "
     "(only likert, nps, number)"),
    (_set(2, {"question": "E1_1", "at_least": 6}),
     "f.yaml: elements[0].questions[2].show_if.at_least: 6 is not a rating of E1_1 (an integer from 1 to 5)"),
    (_set(1, {"question": "HOW", "one_of": ["a", "z"]}, outside=True),
     "f.yaml: questions[1].show_if.one_of[1]: 'z' is not an option of HOW (a, b)"),
    (_set(1, {"question": "HOW", "one_of": []}, outside=True),
     "f.yaml: questions[1].show_if.one_of: expected a non-empty list of values, got list"),
    (_set(1, {"question": "HOW", "one_of": ["a", "a"]}, outside=True),
     "f.yaml: questions[1].show_if.one_of: a value is listed twice"),
    (_set(1, {"question": "HOW"}, outside=True),
     "f.yaml: questions[1].show_if: needs exactly one of equals, one_of, at_most, at_least (found: none)"),
    (_set(1, {"question": "HOW", "equals": "a", "one_of": ["b"]}, outside=True),
     "f.yaml: questions[1].show_if: needs exactly one of equals, one_of, at_most, at_least "
     "(found: equals, one_of)"),
    (_set(1, {"question": "HOW", "when": "a"}, outside=True),
     "f.yaml: questions[1].show_if.when: unknown key 'when' (allowed: question, equals, one_of, at_most, "
     "at_least)"),
    (_set(3, {"question": "AGE", "at_least": "sixty"}, outside=True),
     "f.yaml: questions[3].show_if.at_least: 'sixty' is not a number"),
    (_set(3, {"question": "WHY", "equals": "x"}, outside=True),
     "f.yaml: questions[3].show_if.equals: cannot be used with text question WHY (only yesno, single, multi, "
     "likert, nps, number)"),
    (_set(3, "AGE >= 60", outside=True), "f.yaml: questions[3].show_if: expected a mapping, got string"),
    (_set(1, {"question": "HOW", "one_of": ["a", {"b": 1}]}, outside=True),
     "f.yaml: questions[1].show_if.one_of[1]: expected one value, got mapping"),
    (_set(1, {"question": "HOW", "equals": None}, outside=True),
     "f.yaml: questions[1].show_if.equals: expected one value, got null"),
])
def test_each_bad_condition_is_reported_with_its_key_path(mutate, message):
    assert message in _faults(mutate)


def test_every_bad_condition_is_reported_at_once():
    def mutate(doc):
        _e(doc, 1)["show_if"] = {"question": "E1_2", "equals": 3}
        doc["questions"][1]["show_if"] = {"question": "HOW", "at_most": 1}
    faults = _faults(mutate)
    assert len(faults) == 2 and "comes later" in faults[0] and "cannot be used with single" in faults[1]
