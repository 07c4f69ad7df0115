"""XLSForm in and out (issue 17, part 5): every exported form converts with pyxform (the reference
converter of ODK and KoboToolbox), export then import gives the same questionnaire, forms written as
the XLSForm specification describes them import, and what the platform cannot represent is refused
with sheet, row and column."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook, load_workbook
from pyxform.xls2xform import convert

from analysis.questionnaire import parse_questionnaire
from app.services.questionnaires.xlsform import XLSFormError, export_xlsform, import_xlsform

SURVEYS = Path(__file__).resolve().parents[3] / "surveys"


@pytest.mark.parametrize("name", ["sipas-2017", "sipas-short", "arta-csm", "omb-a11-280"])
def test_export_converts_with_pyxform_and_round_trips(name, tmp_path):
    definition = yaml.safe_load((SURVEYS / f"{name}.yaml").read_text(encoding="utf-8"))
    data = export_xlsform(definition)
    path = tmp_path / f"{name}.xlsx"
    path.write_bytes(data)
    xform = convert(xlsform=str(path)).xform
    assert f'id="{name}"' in xform and "<h:title>" in xform
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["survey", "choices", "settings"]
    header = [c.value for c in book["survey"][1]]
    assert "label::Vietnamese (vi)" in header and "label::English (en)" in header
    assert import_xlsform(data, path.name) == parse_questionnaire(definition, source=name)


def _book(survey: list[list], choices: list[list] | None = None, settings: list[list] | None = None) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in (("survey", survey), ("choices", choices), ("settings", settings)):
        if rows is None:
            continue
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


SPEC_SURVEY = [
    ["type", "name", "label::English (en)", "label::Vietnamese (vi)", "hint::English (en)", "required"],
    ["note", "welcome", "Welcome", "Xin chào", "", ""],
    ["begin group", "E1", "Access", "Tiếp cận", "", ""],
    ["select_one rating", "E1_1", "How satisfied are you with the waiting area?",
     "Ông/Bà hài lòng với nơi chờ?", "", "yes"],
    ["select_one ease", "E1_2", "Was it easy to find the office?", "Có dễ tìm trụ sở không?", "", ""],
    ["select_multiple help", "E1_3", "Who helped you?", "Ai đã giúp bạn?", "", ""],
    ["end group", "", "", "", "", ""],
    ["text", "COMMENT", "Any comment?", "Góp ý khác?", "", ""],
    ["integer", "AGE", "Age", "Tuổi", "", ""],
]
SPEC_CHOICES = [
    ["list_name", "name", "label::English (en)", "label::Vietnamese (vi)"],
    ["rating", "1", "Very dissatisfied", "Rất không hài lòng"],
    ["rating", "2", "Dissatisfied", "Không hài lòng"],
    ["rating", "3", "Neutral", "Bình thường"], ["rating", "4", "Satisfied", "Hài lòng"],
    ["rating", "5", "Very satisfied", "Rất hài lòng"],
    ["ease", "easy", "Easy", "Dễ"], ["ease", "hard", "Hard", "Khó"],
    ["help", "staff", "Staff", "Cán bộ"], ["help", "family", "Family", "Gia đình"],
]
SPEC_SETTINGS = [["form_title", "form_id", "version"], ["Office visit", "office-visit", "3"]]


def test_a_form_written_to_the_specification_imports(tmp_path):
    data = _book(SPEC_SURVEY, SPEC_CHOICES, SPEC_SETTINGS)
    path = tmp_path / "spec.xlsx"
    path.write_bytes(data)
    convert(xlsform=str(path))  # the reference converter takes it too
    questionnaire = import_xlsform(data, "spec.xlsx")
    assert questionnaire.code == "office-visit" and questionnaire.version == 3
    assert questionnaire.languages == ("vi", "en") or list(questionnaire.languages) == ["vi", "en"]
    element = questionnaire.elements[0]
    assert element.code == "E1" and element.title == {"en": "Access", "vi": "Tiếp cận"}
    rating, ease, helped = element.questions
    assert rating.type == "likert" and rating.required
    assert questionnaire.scale.points == 5 and questionnaire.scale.labels["en"][4] == "Very satisfied"
    assert ease.type == "single" and [o.value for o in ease.options] == ["easy", "hard"]
    assert ease.options[1].label == {"en": "Hard", "vi": "Khó"}
    assert helped.type == "multi"
    assert [(q.code, q.type) for q in questionnaire.questions] == [("COMMENT", "text"), ("AGE", "number")]


@pytest.mark.parametrize("row, message", [
    (["begin repeat", "visits", "Visits", "Lần đến", "", ""],
     "row 10, column type: a repeat is not supported"),
    (["calculate", "total", "", "", "", ""], "row 10, column type: 'calculate' is not supported"),
    (["geopoint", "where", "Where", "Ở đâu", "", ""], "row 10, column type: 'geopoint' is not supported"),
])
def test_what_the_platform_cannot_represent_is_refused_with_row_and_column(row, message):
    with pytest.raises(XLSFormError) as info:
        import_xlsform(_book(SPEC_SURVEY + [row], SPEC_CHOICES, SPEC_SETTINGS), "bad.xlsx")
    assert any(message in problem for problem in info.value.problems), info.value.problems


def test_relevant_a_formula_macros_and_junk_are_refused():
    relevant = [SPEC_SURVEY[0] + ["relevant"]] + [row + [""] for row in SPEC_SURVEY[1:]]
    relevant[-1][-1] = "${E1_1} != 5"  # skip logic reads only the forms the export writes (issue 17)
    with pytest.raises(XLSFormError) as info:
        import_xlsform(_book(relevant, SPEC_CHOICES, SPEC_SETTINGS), "r.xlsx")
    assert "sheet survey, row 9, column relevant: '${E1_1} != 5' is not supported" in str(info.value)
    formula = [list(row) for row in SPEC_SURVEY]
    formula[8][2] = "=1+1"
    with pytest.raises(XLSFormError) as info:
        import_xlsform(_book(formula, SPEC_CHOICES, SPEC_SETTINGS), "f.xlsx")
    assert "sheet survey, row 9, column label::English (en): a formula" in str(info.value)
    # A workbook with a VBA project (an .xlsm saved as .xlsx) is refused before it is opened.
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_book(SPEC_SURVEY, SPEC_CHOICES, SPEC_SETTINGS))) as source, \
            zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("xl/vbaProject.bin", b"\x00" * 64)
    with pytest.raises(XLSFormError, match="macros"):
        import_xlsform(buffer.getvalue(), "m.xlsx")
    junk = [SPEC_SURVEY[0]] + [["text", f"Q{i}", "x", "x", "", ""] for i in range(10_000)]
    with pytest.raises(XLSFormError, match="10001 rows"):
        import_xlsform(_book(junk, SPEC_CHOICES, SPEC_SETTINGS), "junk.xlsx")
    with pytest.raises(XLSFormError, match="not an .xlsx workbook"):
        import_xlsform(b"not a workbook", "x.xlsx")


def test_cli_export_then_import(runner, app, tmp_path):
    from app.extensions import db
    from app.services.questionnaires.versions import load_standard_questionnaires

    load_standard_questionnaires()
    db.session.commit()
    out = tmp_path / "short.xlsx"
    result = runner.invoke(args=["surveys", "export-xlsform", "sipas-short", "-o", str(out)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["surveys", "import-xlsform", str(out)])
    assert again.exit_code == 0 and "already published, unchanged" in again.output
    assert runner.invoke(args=["surveys", "export-xlsform", "nope", "-o", str(out)]).exit_code == 1
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(_book(SPEC_SURVEY + [["calculate", "x", "", "", "", ""]], SPEC_CHOICES, SPEC_SETTINGS))
    refused = runner.invoke(args=["surveys", "import-xlsform", str(bad)])
    assert refused.exit_code == 1 and "row 10, column type" in refused.output
    assert "nothing was loaded" in refused.output


def test_the_version_page_offers_the_xlsform(client, app):
    from app.extensions import db
    from app.models import QuestionnaireVersion
    from app.services.questionnaires.versions import load_standard_questionnaires
    from tests.admin.conftest import login_as, make_user

    load_standard_questionnaires()
    login_as(client, make_user("xls-admin@example.org", "administrator"))
    db.session.commit()
    version = db.session.query(QuestionnaireVersion).first()
    page = client.get(f"/admin/questionnaires/versions/{version.id}?lang=vi").get_data(as_text=True)
    assert 'id="xlsform"' in page and "Tải về dạng XLSForm" in page
    response = client.get(f"/admin/questionnaires/versions/{version.id}/xlsform")
    assert response.status_code == 200 and response.headers["Content-Disposition"].endswith('.xlsx"')
    assert import_xlsform(response.get_data(), "v.xlsx").code == version.questionnaire.code


# ------------------------------------------------------------------ skip logic (issue 17, part 4)

SKIP_QUESTIONNAIRE = {
    "code": "skip-demo", "version": 1, "title": {"vi": "Thử", "en": "Trial"}, "languages": ["vi", "en"],
    "scale": {"points": 5, "labels": {"vi": ["1", "2", "3", "4", "5"], "en": ["1", "2", "3", "4", "5"]},
              "satisfied": [4, 5]},
    "elements": [{"code": "E1", "title": {"vi": "Một", "en": "One"}, "questions": [
        {"code": "FEEDBACK", "type": "yesno", "text": {"vi": "Góp ý?", "en": "Feedback?"}},
        {"code": "E1_1", "type": "likert", "text": {"vi": "A", "en": "A"},
         "show_if": {"question": "FEEDBACK", "equals": "yes"}},
        {"code": "E1_2", "type": "likert", "text": {"vi": "B", "en": "B"},
         "show_if": {"question": "E1_1", "at_most": 3}},
    ]}],
    "questions": [
        {"code": "HOW", "type": "single", "text": {"vi": "Cách", "en": "How"}, "options": [
            {"value": "a", "label": {"vi": "A", "en": "A"}}, {"value": "b", "label": {"vi": "B", "en": "B"}},
            {"value": "c", "label": {"vi": "C", "en": "C"}}]},
        {"code": "WHY", "type": "text", "text": {"vi": "Vì sao", "en": "Why"},
         "show_if": {"question": "HOW", "one_of": ["a", "b"]}},
        {"code": "TICK", "type": "multi", "text": {"vi": "Chọn", "en": "Pick"}, "options": [
            {"value": "x", "label": {"vi": "X", "en": "X"}},
            {"value": "y", "label": {"vi": "Y", "en": "Y"}}]},
        {"code": "TICKED", "type": "text", "text": {"vi": "X?", "en": "X?"},
         "show_if": {"question": "TICK", "equals": "x"}},
        {"code": "AGE", "type": "number", "text": {"vi": "Tuổi", "en": "Age"}, "min": 0, "max": 120},
        {"code": "OLD", "type": "yesno", "text": {"vi": "Hưu?", "en": "Retired?"},
         "show_if": {"question": "AGE", "at_least": 60}},
        {"code": "NPS", "type": "nps", "text": {"vi": "Giới thiệu?", "en": "Recommend?"}},
        {"code": "NPS_WHY", "type": "text", "text": {"vi": "Vì sao?", "en": "Why?"},
         "show_if": {"question": "NPS", "one_of": [0, 1, 2]}},
    ],
}


def test_skip_logic_is_exported_as_relevant_converts_with_pyxform_and_round_trips(tmp_path):
    data = export_xlsform(SKIP_QUESTIONNAIRE)
    path = tmp_path / "skip.xlsx"
    path.write_bytes(data)
    xform = convert(xlsform=str(path)).xform
    sheet = load_workbook(io.BytesIO(data))["survey"]
    header = [c.value for c in sheet[1]]
    relevant = {row[header.index("name")]: row[header.index("relevant")]
                for row in sheet.iter_rows(min_row=2, values_only=True) if row[header.index("relevant")]}
    assert relevant == {
        "E1_1": "${FEEDBACK} = 'yes'", "E1_2": "${E1_1} <= 3", "WHY": "${HOW} = 'a' or ${HOW} = 'b'",
        "TICKED": "selected(${TICK}, 'x')", "OLD": "${AGE} >= 60",
        "NPS_WHY": "${NPS} = '0' or ${NPS} = '1' or ${NPS} = '2'",
    }
    # pyxform turned each into the XForm's relevant binding
    assert xform.count("relevant=") == 6 and "relevant=\" /data/E1/FEEDBACK  = 'yes'\"" in xform
    back = import_xlsform(data, "skip.xlsx")
    assert back == parse_questionnaire(SKIP_QUESTIONNAIRE, source="skip")
    assert back.definition == parse_questionnaire(SKIP_QUESTIONNAIRE).definition
    assert back.question("E1_2").show_if.definition() == {"question": "E1_1", "at_most": 3}
    assert back.question("NPS_WHY").show_if.value == (0, 1, 2)


@pytest.mark.parametrize("expression, message", [
    ("${E1_1} != 5", "'${E1_1} != 5' is not supported"),
    ("${E1_1} = '4' and ${E1_2} = '5'", "is not supported"),
    ("${E1_1} <= 3 or ${E1_1} >= 5", "is not supported"),
    ("${E1_1} = '4' or ${E1_3} = 'staff'", "is not supported"),
    ("count(${E1_3}) > 1", "is not supported"),
    ("${COMMENT} = 'x'", "show_if.question: 'COMMENT' comes later"),
    ("${E1_1} = '9'", "9 is not a rating of E1_1"),
    ("${E1_2} <= 3", "show_if.at_most: cannot be used with single question E1_2"),
])
def test_other_relevant_expressions_are_refused_with_row_and_column(expression, message):
    survey = [SPEC_SURVEY[0] + ["relevant"]] + [row + [""] for row in SPEC_SURVEY[1:]]
    survey[-2][-1] = expression  # COMMENT's row (row 8) for the first ones; AGE follows it
    if "COMMENT" in expression:
        survey[5][-1], survey[-2][-1] = expression, ""  # E1_3 (row 6) reads a later question
    with pytest.raises(XLSFormError) as info:
        import_xlsform(_book(survey, SPEC_CHOICES, SPEC_SETTINGS), "r.xlsx")
    problems = " | ".join(info.value.problems)
    assert message in problems, problems
    if "not supported" in message:
        assert "sheet survey, row 8, column relevant:" in problems
