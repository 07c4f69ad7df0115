"""The questionnaire files shipped in surveys/ load and hold the published item sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.questionnaire import Questionnaire, load_questionnaire, parse_questionnaire

SURVEYS = Path(__file__).resolve().parents[2] / "surveys"
SURVEY_FILES = sorted(SURVEYS.glob("*.yaml")) + sorted(SURVEYS.glob("*.json"))
SIPAS_SCALE_VI = ("Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng")
SIPAS_SCALE_EN = ("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied")
# Correct Vietnamese words that happen to need no diacritics.
ASCII_VIETNAMESE = {"Nam"}


def load(name: str) -> Questionnaire:
    return load_questionnaire(SURVEYS / name)


def texts(qn: Questionnaire) -> list[dict[str, str]]:
    """Every human text of a questionnaire."""
    found = [qn.title] + [e.title for e in qn.elements]
    for q in qn.all_questions():
        found += [q.text] + [o.label for o in q.options]
        found += [q.description] if q.description else []
    return found


def test_the_four_standard_files_are_there():
    names = {path.name for path in SURVEY_FILES}
    assert {"sipas-2017.yaml", "sipas-short.yaml", "arta-csm.yaml", "omb-a11-280.yaml"} <= names


@pytest.mark.parametrize("path", SURVEY_FILES, ids=lambda p: p.name)
def test_every_file_loads_and_round_trips(path):
    qn = load_questionnaire(path)
    assert qn.code == path.stem
    assert qn.version >= 1
    assert qn.likert_codes()
    assert parse_questionnaire(json.loads(json.dumps(qn.definition)), str(path)) == qn


@pytest.mark.parametrize("path", SURVEY_FILES, ids=lambda p: p.name)
def test_every_file_says_where_its_wording_comes_from(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# ")


@pytest.mark.parametrize("path", SURVEY_FILES, ids=lambda p: p.name)
def test_vietnamese_texts_have_diacritics(path):
    # Catches Vietnamese typed without accents ("Hai long"), which reads as a
    # different, often meaningless, phrase to a citizen.
    qn = load_questionnaire(path)
    bare = [t["vi"] for t in texts(qn) if t["vi"].isascii() and t["vi"] not in ASCII_VIETNAMESE]
    assert bare == []


def test_sipas_2017_has_the_22_criteria_in_five_elements():
    qn = load("sipas-2017.yaml")
    assert qn.languages == ("vi", "en")
    assert [e.code for e in qn.elements] == ["E1", "E2", "E3", "E4", "E5"]
    # Version 2 (issue 17) opens element 5 with the yes/no FEEDBACK question its criteria depend on.
    assert [len([q for q in e.questions if q.type == "likert"]) for e in qn.elements] == [4, 5, 6, 3, 4]
    assert qn.element("E5").questions[0].code == "FEEDBACK"
    expected = tuple(f"E{e}_{k}" for e, n in enumerate((4, 5, 6, 3, 4), 1) for k in range(1, n + 1))
    assert len(expected) == 22
    assert qn.likert_codes() == expected
    assert all(e.weight == 1.0 for e in qn.elements)
    assert qn.elements[2].title["vi"] == "Công chức trực tiếp giải quyết công việc"


def test_sipas_2017_scale():
    scale = load("sipas-2017.yaml").scale
    assert scale.points == 5
    assert scale.satisfied == frozenset({4, 5})
    assert scale.labels == {"vi": SIPAS_SCALE_VI, "en": SIPAS_SCALE_EN}


def test_sipas_2017_general_items_overall_and_expectations_sit_outside_the_index():
    qn = load("sipas-2017.yaml")
    outside = {q.code: q for q in qn.questions}
    for code in ("E1_GEN", "E2_GEN", "E3_GEN", "E4_GEN", "E5_GEN", "OVERALL"):
        assert outside[code].type == "likert"
        assert outside[code].element is None
    assert outside["EXPECT"].type == "multi"
    assert {"staff_attitude", "complaint_handling", "staff_capability"} <= set(
        outside["EXPECT"].option_values()
    )
    assert outside["COMMENT"].type == "text"
    assert not outside["GENDER"].required
    assert not outside["AGE_GROUP"].required


def test_sipas_short_has_one_criterion_per_element():
    qn = load("sipas-short.yaml")
    assert [e.code for e in qn.elements] == ["E1", "E2", "E3", "E4", "E5"]
    assert qn.likert_codes() == ("E1_1", "E2_1", "E3_1", "E4_1", "E5_1")
    assert [q.code for q in qn.questions] == ["OVERALL", "COMMENT"]
    assert qn.question("OVERALL").type == "likert"
    assert qn.scale == load("sipas-2017.yaml").scale


def test_arta_csm_items():
    qn = load("arta-csm.yaml")
    assert qn.languages == ("en", "vi")
    assert qn.likert_codes() == tuple(f"SQD{k}" for k in range(1, 9))
    assert len(qn.elements) == 8
    assert qn.question("OVERALL").element is None
    assert qn.question("OVERALL").type == "likert"
    assert qn.scale.points == 5
    assert qn.scale.satisfied == frozenset({4, 5})
    assert qn.scale.labels["en"][0] == "Strongly disagree"
    # N/A is an empty cell, not a sixth scale point.
    assert qn.question("SQD5").parse_answer("", qn.scale) is None
    with pytest.raises(ValueError):
        qn.question("SQD5").parse_answer("6", qn.scale)
    with pytest.raises(ValueError):
        qn.question("AGE").parse_answer("130", qn.scale)


def test_omb_a11_280_items():
    qn = load("omb-a11-280.yaml")
    assert qn.languages == ("en", "vi")
    assert [e.code for e in qn.elements] == [
        "TRUST",
        "EFFECTIVENESS",
        "EASE",
        "EFFICIENCY",
        "EQUITY",
        "EMPLOYEE",
    ]
    assert qn.likert_codes() == (
        "TRUST_1",
        "EFFECTIVENESS_1",
        "EASE_1",
        "EFFICIENCY_1",
        "EQUITY_1",
        "EQUITY_2",
        "EMPLOYEE_1",
    )
    assert qn.question("OVERALL").type == "likert"
    assert qn.question("OVERALL").element is None
    assert qn.scale.points == 5
    assert qn.scale.satisfied == frozenset({4, 5})
