"""Questionnaire validation, loading and answer parsing (analysis.questionnaire)."""

from __future__ import annotations

import copy
import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.errors import AnalysisError, QuestionnaireError
from analysis.questionnaire import (
    QUESTION_TYPES,
    RESERVED_COLUMNS,
    Question,
    Questionnaire,
    Scale,
    load_questionnaire,
    parse_questionnaire,
)

ROOT = Path(__file__).resolve().parents[2]
SRC = "surveys/broken.yaml"


def _t(text: str) -> dict[str, str]:
    return {"vi": f"{text} (vi)", "en": text}


def _likert(code: str) -> dict:
    return {"code": code, "type": "likert", "text": _t(code)}


def minimal_doc() -> dict:
    """A small valid document with one question of every type."""
    return {
        "code": "test-survey",
        "version": 2,
        "title": _t("Test survey"),
        "languages": ["vi", "en"],
        "scale": {
            "points": 5,
            "labels": {"vi": ["1", "2", "3", "4", "5"], "en": ["a", "b", "c", "d", "e"]},
            "satisfied": [5, 4],
        },
        "elements": [
            {"code": "E1", "title": _t("One"), "weight": 2, "questions": [_likert("E1_1")]},
            {
                "code": "E2",
                "title": _t("Two"),
                "questions": [_likert("E2_1"), {**_likert("E2_2"), "required": True}],
            },
        ],
        "questions": [
            _likert("OVERALL"),
            {
                "code": "CHANNEL_PREF",
                "type": "single",
                "text": _t("Preferred channel"),
                "options": [
                    {"value": "counter", "label": _t("Counter")},
                    {"value": "online", "label": _t("Online")},
                ],
            },
            {
                "code": "EXPECT",
                "type": "multi",
                "text": _t("Improve"),
                "options": [
                    {"value": "staff_attitude", "label": _t("Attitude")},
                    {"value": "time-limit", "label": _t("Time")},
                    {"value": "fees", "label": _t("Fees")},
                ],
            },
            {"code": "AGAIN", "type": "yesno", "text": _t("Again?")},
            {"code": "NPS", "type": "nps", "text": _t("Recommend?")},
            {"code": "VISITS", "type": "number", "text": _t("Visits"), "min": 1, "max": 20},
            {"code": "AMOUNT", "type": "number", "text": _t("Amount")},
            {"code": "COMMENT", "type": "text", "text": _t("Comment"), "description": _t("Why")},
        ],
    }


@pytest.fixture
def qn() -> Questionnaire:
    return parse_questionnaire(minimal_doc(), "test.yaml")


def errors_of(data, source: str = SRC) -> list[str]:
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(data, source)
    return info.value.errors


# ------------------------------------------------------------------ valid files


def test_parses_a_valid_document(qn):
    assert qn.code == "test-survey"
    assert qn.version == 2
    assert qn.languages == ("vi", "en")
    assert qn.default_language == "vi"
    assert qn.scale == Scale(
        points=5,
        labels={"vi": ("1", "2", "3", "4", "5"), "en": ("a", "b", "c", "d", "e")},
        satisfied=frozenset({4, 5}),
    )
    assert [e.code for e in qn.elements] == ["E1", "E2"]
    assert qn.elements[0].weight == 2.0
    assert qn.elements[1].weight == 1.0  # default
    assert qn.likert_codes() == ("E1_1", "E2_1", "E2_2")
    assert [q.code for q in qn.all_questions()][:4] == ["E1_1", "E2_1", "E2_2", "OVERALL"]
    assert len(qn.all_questions()) == 11


def test_question_defaults_and_element_links(qn):
    assert qn.question("E2_1").required is False
    assert qn.question("E2_2").required is True
    assert qn.question("E2_1").element == "E2"
    assert qn.question("OVERALL").element is None
    assert qn.question("OVERALL").type == "likert"
    assert qn.question("COMMENT").description == _t("Why")
    assert qn.question("VISITS").min_value == 1
    assert qn.question("VISITS").max_value == 20
    assert qn.question("EXPECT").option_values() == ("staff_attitude", "time-limit", "fees")
    assert qn.question("NPS").options == ()
    assert qn.element("E2").questions[1].code == "E2_2"


def test_unknown_question_or_element_is_a_key_error(qn):
    with pytest.raises(KeyError):
        qn.question("E9_9")
    with pytest.raises(KeyError):
        qn.element("E9")


def test_definition_is_normalised_json_and_round_trips(qn):
    definition = qn.definition
    assert json.loads(json.dumps(definition)) == definition
    assert definition["elements"][1]["weight"] == 1.0
    assert definition["scale"]["satisfied"] == [4, 5]
    assert definition["elements"][0]["questions"][0] == {
        "code": "E1_1",
        "type": "likert",
        "text": _t("E1_1"),
        "required": False,
    }
    again = parse_questionnaire(json.loads(json.dumps(definition)))
    assert again == qn
    assert again.definition == definition


def test_model_objects_are_hashable(qn):
    # Frozen objects get used as cache keys; dict fields must not break hash().
    again = parse_questionnaire(minimal_doc())
    assert hash(again) == hash(qn)
    assert len({qn, again}) == 1
    assert len({q for q in qn.all_questions()} | set(again.all_questions())) == 11
    assert hash(qn.scale) == hash(again.scale)


def test_parse_does_not_mutate_its_input():
    doc = minimal_doc()
    before = copy.deepcopy(doc)
    parse_questionnaire(doc)
    assert doc == before


# ------------------------------------------------------------------- bad files


def broken_doc() -> dict:
    """A document with many faults at once; `BROKEN_ERRORS` lists every one."""
    return {
        "code": "Bad Code",
        "version": 0,
        "title": {"vi": "Tiêu đề"},
        "languages": ["vi", "en"],
        "scale": {
            "points": 5,
            "labels": {"vi": ["1", "2", "3", "4", "5"], "en": ["a", "b", "c", "d"]},
            "satisfied": [4, 4, 6],
        },
        "elements": [
            {
                "code": "E1",
                "title": _t("One"),
                "weight": 0,
                "questions": [
                    {"code": "E1_1", "type": "likret", "text": _t("q")},
                    {"code": "weight", "type": "likert", "text": _t("q")},
                    {"code": "E1_3", "type": "likert", "text": {"vi": "", "en": "x", "fr": "y"}},
                    {"code": "E1_4", "type": "likert", "text": _t("q"), "optoins": []},
                    {"code": "E1_5", "type": "likert", "text": _t("q"), "required": "yes"},
                ],
            },
            {"code": "E1", "title": _t("Dup"), "questions": []},
            {
                "code": "E3",
                "title": _t("Three"),
                "questions": [
                    _likert("E1_4"),
                    {"code": "E3_2", "type": "single", "text": _t("q")},
                    {
                        "code": "E3_3",
                        "type": "multi",
                        "text": _t("q"),
                        "options": [
                            {"value": "a;b", "label": _t("ab")},
                            {"value": "x", "label": _t("x")},
                            {"value": "x", "label": _t("x again")},
                        ],
                    },
                    {
                        "code": "E3_4",
                        "type": "yesno",
                        "text": _t("q"),
                        "options": [{"value": "y", "label": _t("y")}],
                    },
                    {"code": "E3_5", "type": "number", "text": _t("q"), "min": 5, "max": 1},
                    {"code": "3bad", "type": "text", "text": _t("q")},
                ],
            },
            {"code": "E4", "title": _t("Four"), "questions": [{"code": "E4_1", "type": "text"}]},
        ],
        "questions": [{"code": "NPS", "type": "nps", "text": _t("q"), "min": 0}],
        "extra": 1,
    }


TYPES = "likert, single, multi, yesno, nps, text, number"
QUESTION_KEYS = "code, type, text, description, required, options, min, max, show_if"
BROKEN_ERRORS = [
    f"{SRC}: extra: unknown key 'extra' (allowed: code, version, title, description, "
    "languages, scale, elements, questions, quick_rating, cases)",
    f"{SRC}: code: invalid code 'Bad Code' (must match [a-z0-9-]+)",
    f"{SRC}: version: expected an integer >= 1, got 0",
    f"{SRC}: title.en: missing translation",
    f"{SRC}: scale.labels.en: expected 5 labels (one per point), got 4",
    f"{SRC}: scale.satisfied[1]: duplicate rating 4",
    f"{SRC}: scale.satisfied[2]: expected an integer from 1 to 5, got 6",
    f"{SRC}: elements[0].weight: must be > 0, got 0",
    f"{SRC}: elements[0].questions[0].type: unknown type 'likret' (expected one of {TYPES})",
    f"{SRC}: elements[0].questions[1].code: 'weight' is a reserved response column name "
    f"(reserved: {', '.join(RESERVED_COLUMNS)})",
    f"{SRC}: elements[0].questions[2].text.fr: unknown language 'fr' (languages: vi, en)",
    f"{SRC}: elements[0].questions[2].text.vi: must be a non-empty string",
    f"{SRC}: elements[0].questions[3].optoins: unknown key 'optoins' (allowed: {QUESTION_KEYS})",
    f"{SRC}: elements[0].questions[4].required: expected true or false, got string",
    f"{SRC}: elements[1].code: duplicate element code 'E1' (first used at elements[0].code)",
    f"{SRC}: elements[1].questions: must not be empty (expected a list of questions)",
    f"{SRC}: elements[2].questions[0].code: duplicate question code 'E1_4' "
    "(first used at elements[0].questions[3].code)",
    f"{SRC}: elements[2].questions[1].options: missing required key "
    "(single questions need options)",
    f"{SRC}: elements[2].questions[2].options[0].value: invalid code 'a;b' "
    "(must match [A-Za-z0-9_-]+)",
    f"{SRC}: elements[2].questions[2].options[2].value: duplicate option code 'x' "
    "(first used at elements[2].questions[2].options[1].value)",
    f"{SRC}: elements[2].questions[3].options: not allowed for yesno questions "
    "(only single and multi)",
    f"{SRC}: elements[2].questions[4].max: must be >= min (5), got 1",
    f"{SRC}: elements[2].questions[5].code: invalid code '3bad' (must match [A-Za-z][A-Za-z0-9_]*)",
    f"{SRC}: elements[3].questions[0].text: missing required key",
    f"{SRC}: elements[3].questions: has no likert question "
    "(an element's likert questions are its index criteria)",
    f"{SRC}: questions[0].min: not allowed for nps questions (only number)",
]


def test_broken_document_reports_every_fault_with_its_key_path():
    errors = errors_of(broken_doc())
    assert sorted(errors) == sorted(BROKEN_ERRORS)
    assert len(errors) == len(BROKEN_ERRORS)


def test_broken_file_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(json.dumps(broken_doc(), ensure_ascii=False), encoding="utf-8")
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(path)
    expected = [e.replace(SRC, str(path), 1) for e in BROKEN_ERRORS]
    assert sorted(info.value.errors) == sorted(expected)
    assert str(info.value) == "\n".join(info.value.errors)


def test_questionnaire_error_is_an_analysis_error_and_pickles():
    error = QuestionnaireError(["a: (top): one", "a: (top): two"])
    assert isinstance(error, AnalysisError)
    assert str(error) == "a: (top): one\na: (top): two"
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert again.errors == error.errors
    assert str(again) == str(error)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, ["x: (top): expected a mapping, got null"]),
        ([1, 2], ["x: (top): expected a mapping, got list"]),
        (
            {},
            [
                "x: code: missing required key",
                "x: version: missing required key",
                "x: title: missing required key",
                "x: languages: missing required key",
                "x: elements: missing required key",
            ],
        ),
    ],
)
def test_document_shape_and_required_keys(data, expected):
    assert errors_of(data, "x") == expected


def _with(path: tuple, value) -> dict:
    """minimal_doc() with one value replaced (or removed when value is ...)."""
    doc = minimal_doc()
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("version",), True, "version: expected an integer >= 1, got boolean"),
        (("version",), 1.5, "version: expected an integer >= 1, got number"),
        (("code",), 7, "code: expected a string, got number (quote it in YAML)"),
        (("languages",), [], "languages: must not be empty (expected a list of language codes)"),
        (("languages",), ["vi", "vi"], "languages[1]: duplicate language 'vi'"),
        (
            ("languages",),
            ["vi", False],
            "languages[1]: expected a string, got boolean (quote it in YAML)",
        ),
        (("title",), "Survey", "title: expected a {language: text} mapping, got string"),
        (("title", "en"), 3, "title.en: expected a string, got number (quote it in YAML)"),
        (("description",), {"vi": "x"}, "description.en: missing translation"),
        (("scale",), ..., "scale: missing required key (the file has likert questions)"),
        (("scale", "points"), 12, "scale.points: expected an integer from 2 to 11, got 12"),
        (("scale", "points"), 1, "scale.points: expected an integer from 2 to 11, got 1"),
        (
            ("scale", "satisfied"),
            [],
            "scale.satisfied: must not be empty (expected a list of ratings)",
        ),
        (("scale", "satisfied"), [0], "scale.satisfied[0]: expected an integer from 1 to 5, got 0"),
        (("scale", "labels", "vi", 2), "", "scale.labels.vi[2]: must be a non-empty string"),
        (
            ("scale", "labels", "en"),
            "abcde",
            "scale.labels.en: expected a list of labels, got string",
        ),
        (
            ("scale", "colour"),
            "red",
            "scale.colour: unknown key 'colour' (allowed: points, labels, satisfied)",
        ),
        (("scale", "satisfied"), ..., "scale.satisfied: missing required key"),
        (("elements",), [], "elements: must not be empty (expected a list of elements)"),
        (("elements",), {"E1": {}}, "elements: expected a list of elements, got mapping"),
        (("elements", 0, "weight"), -1, "elements[0].weight: must be > 0, got -1"),
        (("elements", 0, "weight"), "2", "elements[0].weight: expected a number, got string"),
        (
            ("elements", 0, "weight"),
            math.inf,
            "elements[0].weight: must be a finite number, got inf",
        ),
        (
            ("elements", 0, "code"),
            "E 1",
            "elements[0].code: invalid code 'E 1' (must match [A-Za-z][A-Za-z0-9_]*)",
        ),
        (
            ("elements", 0, "notes"),
            "x",
            "elements[0].notes: unknown key 'notes' (allowed: code, title, weight, questions)",
        ),
        (("elements", 0, "questions"), ..., "elements[0].questions: missing required key"),
        (
            ("elements", 0, "questions", 0),
            "E1_1",
            "elements[0].questions[0]: expected a mapping, got string",
        ),
        (("questions",), {"a": 1}, "questions: expected a list of questions, got mapping"),
        (
            ("questions", 0, "code"),
            "survey",
            "questions[0].code: 'survey' is a reserved response column name (reserved: "
            + ", ".join(RESERVED_COLUMNS)
            + ")",
        ),
        (
            ("questions", 0, "code"),
            "E1_1",
            "questions[0].code: duplicate question code 'E1_1' "
            "(first used at elements[0].questions[0].code)",
        ),
        (
            ("questions", 0, "type"),
            None,
            f"questions[0].type: unknown type null (expected one of {', '.join(QUESTION_TYPES)})",
        ),
        (
            ("questions", 1, "options"),
            [],
            "questions[1].options: must not be empty (expected a list of options)",
        ),
        (
            ("questions", 1, "options", 0, "value"),
            True,
            "questions[1].options[0].value: expected a string, got boolean (quote it in YAML)",
        ),
        (
            ("questions", 1, "options", 0, "value"),
            5,
            "questions[1].options[0].value: expected a string, got number (quote it in YAML)",
        ),
        (
            ("questions", 1, "options", 0, "label"),
            ...,
            "questions[1].options[0].label: missing required key",
        ),
        (
            ("questions", 1, "options", 0, "text"),
            _t("x"),
            "questions[1].options[0].text: unknown key 'text' (allowed: value, label)",
        ),
        (("questions", 5, "min"), "1", "questions[5].min: expected a number, got string"),
        (
            ("questions", 4, "max"),
            10,
            "questions[4].max: not allowed for nps questions (only number)",
        ),
        (
            ("questions", 7, "description"),
            "why",
            "questions[7].description: expected a {language: text} mapping, got string",
        ),
    ],
)
def test_single_fault_is_reported_exactly(path, value, expected):
    assert errors_of(_with(path, value), "f.yaml") == [f"f.yaml: {expected}"]


def test_reserved_column_names_are_case_sensitive():
    qn = parse_questionnaire(_with(("questions", 0, "code"), "Weight"))
    assert qn.question("Weight").type == "likert"


@pytest.mark.parametrize("code", RESERVED_COLUMNS)
def test_every_reserved_column_name_is_refused(code):
    errors = errors_of(_with(("questions", 0, "code"), code))
    assert errors == [
        f"{SRC}: questions[0].code: {code!r} is a reserved response column name "
        f"(reserved: {', '.join(RESERVED_COLUMNS)})"
    ]


def test_broken_languages_do_not_cascade_into_every_text():
    # With `languages` unusable, text maps cannot be checked against it; one
    # error is more useful than one per text.
    assert errors_of(_with(("languages",), "vi"), "f") == [
        "f: languages: expected a list of language codes, got string"
    ]


def test_scale_points_must_be_an_integer():
    doc = _with(("scale", "points"), "five")
    assert errors_of(doc, "f") == ["f: scale.points: expected an integer from 2 to 11, got string"]


# ------------------------------------------------------------------------ files


def test_json_file_loads_the_same_as_yaml(tmp_path, qn):
    as_json = tmp_path / "survey.json"
    as_json.write_text(json.dumps(minimal_doc(), ensure_ascii=False), encoding="utf-8")
    as_yaml = tmp_path / "survey.yaml"
    as_yaml.write_text(json.dumps(minimal_doc()), encoding="utf-8")  # JSON is valid YAML
    assert load_questionnaire(as_json) == qn
    assert load_questionnaire(str(as_yaml)) == qn


def test_json_file_from_a_real_survey_round_trips(tmp_path):
    original = load_questionnaire(ROOT / "surveys" / "sipas-2017.yaml")
    path = tmp_path / "sipas.json"
    path.write_text(json.dumps(original.definition, ensure_ascii=False), encoding="utf-8")
    assert load_questionnaire(path) == original


def _load_errors(path: Path) -> list[str]:
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(path)
    return info.value.errors


def test_missing_file_is_a_questionnaire_error(tmp_path):
    path = tmp_path / "nope.yaml"
    [error] = _load_errors(path)
    assert error.startswith(f"{path}: (top): cannot read file: ")


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("code: x\ntitle: [unclosed\n", encoding="utf-8")
    [error] = _load_errors(path)
    assert error.startswith(f"{path}: (top): invalid YAML: ")
    assert "line 3" in error


def test_json_syntax_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"code": "x",}', encoding="utf-8")
    [error] = _load_errors(path)
    assert error.startswith(f"{path}: (top): invalid JSON: ")


@pytest.mark.parametrize(
    ("name", "content"),
    [("dup.yaml", "code: a\nversion: 1\ncode: b\n"), ("dup.json", '{"code": "a", "code": "b"}')],
)
def test_duplicate_keys_are_refused(tmp_path, name, content):
    # PyYAML and json would silently keep the last value, hiding a mistake.
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    [error] = _load_errors(path)
    assert error.startswith(f"{path}: (top): invalid ")
    assert "duplicate key 'code'" in error


def test_non_utf8_file_is_a_questionnaire_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("title: Hà Nội".encode("cp1258", errors="replace") + b"\xff\xfe")
    [error] = _load_errors(path)
    assert error.startswith(f"{path}: (top): cannot read file: ")


def test_empty_yaml_file_is_not_a_mapping(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing\n", encoding="utf-8")
    assert _load_errors(path) == [f"{path}: (top): expected a mapping, got null"]


def test_yaml_booleans_in_option_values_get_a_hint(tmp_path):
    doc = minimal_doc()
    doc["questions"][1]["options"][0]["value"] = "yes"
    path = tmp_path / "opts.yaml"
    text = json.dumps(doc).replace('"value": "yes"', '"value": yes')
    path.write_text(text, encoding="utf-8")
    assert _load_errors(path) == [
        f"{path}: questions[1].options[0].value: expected a string, got boolean (quote it in YAML)"
    ]


def test_importing_questionnaire_loads_no_web_framework():
    code = (
        "import sys, analysis.questionnaire; "
        "print(sorted(m for m in ('flask', 'sqlalchemy', 'app') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------------- answers


@pytest.mark.parametrize(
    ("code", "cell", "expected"),
    [
        ("E1_1", "1", 1),
        ("E1_1", "5", 5),
        ("E1_1", " 4 ", 4),
        ("E1_1", "", None),
        ("E1_1", "  ", None),
        ("NPS", "0", 0),
        ("NPS", "10", 10),
        ("VISITS", "3", 3),
        ("VISITS", "3.0", 3),
        ("VISITS", "2.5", 2.5),
        ("VISITS", "1e1", 10),
        ("AMOUNT", "-0.125", -0.125),
        ("AMOUNT", "1e300", 1e300),
        ("AGAIN", "yes", True),
        ("AGAIN", "no", False),
        ("CHANNEL_PREF", "online", "online"),
        ("EXPECT", "fees", ("fees",)),
        ("EXPECT", "time-limit;staff_attitude", ("time-limit", "staff_attitude")),
        ("EXPECT", "fees; time-limit", ("fees", "time-limit")),
        ("COMMENT", "  Tốt; rất nhanh =1+1 ", "  Tốt; rất nhanh =1+1 "),
        ("COMMENT", "", None),
    ],
)
def test_parse_answer(qn, code, cell, expected):
    value = qn.question(code).parse_answer(cell, qn.scale)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("code", "cell", "domain"),
    [
        ("E1_1", "0", "an integer from 1 to 5"),
        ("E1_1", "6", "an integer from 1 to 5"),
        ("E1_1", "4.0", "an integer from 1 to 5"),
        ("E1_1", "-1", "an integer from 1 to 5"),
        ("E1_1", "four", "an integer from 1 to 5"),
        ("E1_1", "٤", "an integer from 1 to 5"),
        ("NPS", "11", "an integer from 0 to 10"),
        ("NPS", "+3", "an integer from 0 to 10"),
        ("VISITS", "0", "a finite decimal number from 1 to 20"),
        ("VISITS", "20.5", "a finite decimal number from 1 to 20"),
        ("AMOUNT", "nan", "a finite decimal number"),
        ("AMOUNT", "inf", "a finite decimal number"),
        ("AMOUNT", "1e999", "a finite decimal number"),
        ("AMOUNT", "1_000", "a finite decimal number"),
        ("AMOUNT", "1,5", "a finite decimal number"),
        ("AGAIN", "Yes", "'yes' or 'no'"),
        ("AGAIN", "1", "'yes' or 'no'"),
        ("CHANNEL_PREF", "phone", "one of counter, online"),
        ("CHANNEL_PREF", "counter;online", "one of counter, online"),
        (
            "EXPECT",
            "fees;fees",
            "option values joined by ';', each once, from staff_attitude, time-limit, fees",
        ),
        (
            "EXPECT",
            "fees;",
            "option values joined by ';', each once, from staff_attitude, time-limit, fees",
        ),
        (
            "EXPECT",
            "rent",
            "option values joined by ';', each once, from staff_attitude, time-limit, fees",
        ),
    ],
)
def test_parse_answer_rejects_values_outside_the_domain(qn, code, cell, domain):
    with pytest.raises(ValueError) as info:
        qn.question(code).parse_answer(cell, qn.scale)
    assert str(info.value) == f"{code}: invalid answer {cell.strip()!r} (expected {domain})"


def test_likert_needs_the_scale(qn):
    with pytest.raises(ValueError, match="needs the questionnaire's scale"):
        qn.question("E1_1").parse_answer("3", None)


def test_likert_follows_the_scale_points(qn):
    seven = Scale(points=7, labels={}, satisfied=frozenset({6, 7}))
    assert qn.question("E1_1").parse_answer("7", seven) == 7
    with pytest.raises(ValueError, match="from 1 to 7"):
        qn.question("E1_1").parse_answer("8", seven)


@pytest.mark.parametrize(
    ("code", "value", "cell"),
    [
        ("E1_1", None, ""),
        ("E1_1", 4, "4"),
        ("AGAIN", True, "yes"),
        ("AGAIN", False, "no"),
        ("EXPECT", ("fees", "time-limit"), "fees;time-limit"),
        ("CHANNEL_PREF", "online", "online"),
        ("AMOUNT", 2.5, "2.5"),
        ("AMOUNT", 3.0, "3"),
        ("AMOUNT", 0.1, "0.1"),
        ("AMOUNT", 1e300, "1e+300"),
        ("AMOUNT", -7, "-7"),
        ("COMMENT", "a;b", "a;b"),
    ],
)
def test_format_answer(qn, code, value, cell):
    assert qn.question(code).format_answer(value) == cell


def test_format_answer_refuses_unknown_types(qn):
    with pytest.raises(TypeError, match="cannot format answer of type dict"):
        qn.question("COMMENT").format_answer({"a": 1})


_QN = parse_questionnaire(minimal_doc())
_EXACT = 2**53 - 1
_VALID_VALUES = {
    "E1_1": st.integers(1, 5),
    "NPS": st.integers(0, 10),
    "AGAIN": st.booleans(),
    "CHANNEL_PREF": st.sampled_from(["counter", "online"]),
    "EXPECT": st.lists(
        st.sampled_from(["staff_attitude", "time-limit", "fees"]), min_size=1, unique=True
    ).map(tuple),
    "VISITS": st.one_of(
        st.integers(1, 20), st.floats(1, 20, allow_nan=False, allow_infinity=False)
    ),
    "AMOUNT": st.one_of(
        st.integers(-_EXACT, _EXACT), st.floats(allow_nan=False, allow_infinity=False)
    ),
    "COMMENT": st.text(min_size=1),
}


@given(
    st.sampled_from(sorted(_VALID_VALUES)).flatmap(
        lambda c: st.tuples(st.just(c), _VALID_VALUES[c])
    )
)
def test_parse_inverts_format_for_valid_values(code_and_value):
    code, value = code_and_value
    question = _QN.question(code)
    assert question.parse_answer(question.format_answer(value), _QN.scale) == value


@given(st.sampled_from(_QN.all_questions()), st.text())
def test_parse_answer_raises_only_value_error(question: Question, cell: str):
    # Whatever a CSV holds, the importer must get a clear ValueError, never a crash.
    try:
        value = question.parse_answer(cell, _QN.scale)
    except ValueError as exc:
        assert str(exc).startswith(f"{question.code}: invalid answer ")
    else:
        assert question.parse_answer(question.format_answer(value), _QN.scale) == value
