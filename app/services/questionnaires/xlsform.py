"""XLSForm in and out (issue 17, part 5): the questionnaire format of ODK, KoboToolbox and SurveyCTO.

Export writes the `survey`, `choices` and `settings` sheets: each element a group, likert ratings
`select_one sipas_scale` (with the scale's words; the satisfied points marked in the choices'
`sipas_satisfied` column), nps `select_one sipas_nps`, yes/no `select_one sipas_yesno`, single and
multiple choices `select_one` / `select_multiple` with a list per question, text `text`, numbers
`decimal` with a constraint for their bounds; labels as `label::Vietnamese (vi)` and
`label::English (en)`; skip logic (`show_if`) as `relevant`. Import reads the same, refusing with sheet,
row and column what the platform cannot represent (repeat, calculate, other `relevant` expressions,
formulas, macros, too many rows).
"""

from __future__ import annotations

import io
import re
import zipfile

from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from analysis.errors import QuestionnaireError
from analysis.questionnaire import Questionnaire, parse_questionnaire
from app.extensions import db
from app.models import Questionnaire as QuestionnaireRow
from app.models import QuestionnaireVersion

LANGUAGE_NAMES = {"vi": "Vietnamese", "en": "English"}
MAX_ROWS = 2000
MAX_BYTES = 5_000_000
# Key, in the lists read from a workbook, of the names of the lists that are its rating scale.
_RATING = "\x00rating"
SCALE_LIST, NPS_LIST, YESNO_LIST = "sipas_scale", "sipas_nps", "sipas_yesno"
_LABEL = re.compile(r"^(label|hint)::(?:[^()]*\()?([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\)?$")
_BOUND = re.compile(r"^\.\s*(>=|<=)\s*(-?[0-9.]+)$")
# The `relevant` expressions that are a `show_if` (FORMATS.md §1.z), and how they are joined.
_RELEVANT_COMPARE = re.compile(
    r"^\$\{([A-Za-z][A-Za-z0-9_]*)\}\s*(=|<=|>=)\s*(?:'([^']*)'|(-?[0-9]+(?:\.[0-9]+)?))$")
_RELEVANT_SELECTED = re.compile(r"^selected\(\s*\$\{([A-Za-z][A-Za-z0-9_]*)\}\s*,\s*'([^']*)'\s*\)$")
_RELEVANT_FORMS = ("${Q} = 'value'", "${Q} <= N", "${Q} >= N", "selected(${Q}, 'value')",
                   "the '=' or selected forms on one question joined by 'or'")
SUPPORTED_TYPES = ("select_one", "select_multiple", "text", "decimal", "integer", "note", "begin_group",
                   "end_group", "begin group", "end group")


class XLSFormError(ValueError):
    """An XLSForm the platform cannot read: every problem, with sheet, row and column."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _labelled(texts: dict | None, languages: list[str], kind: str = "label") -> dict[str, str]:
    texts = texts or {}
    return {f"{kind}::{LANGUAGE_NAMES.get(lang, lang)} ({lang})": texts.get(lang, "") for lang in languages}


def _relevant(condition: dict, types: dict[str, str]) -> str:
    """A `show_if` as an XLSForm `relevant` expression."""
    code = condition["question"]
    ref = "${" + code + "}"
    kind = types.get(code, "")
    for operator, sign in (("at_most", "<="), ("at_least", ">=")):
        if operator in condition:
            return f"{ref} {sign} {condition[operator]}"
    values = condition["one_of"] if "one_of" in condition else [condition["equals"]]
    if kind == "multi":
        return " or ".join(f"selected({ref}, '{value}')" for value in values)
    if kind == "number":
        return " or ".join(f"{ref} = {value}" for value in values)
    return " or ".join(f"{ref} = '{value}'" for value in values)


def _required_and_relevant(question: dict, types: dict[str, str]) -> dict:
    row = {"required": "yes"} if question.get("required") else {}
    if question.get("show_if"):
        row["relevant"] = _relevant(question["show_if"], types)
    return row


def _question_rows(question: dict, languages: list[str], choices: list[dict],
                   types: dict[str, str] | None = None) -> dict:
    kind = question["type"]
    row = {"name": question["code"], **_labelled(question.get("text"), languages)}
    if question.get("description"):
        row.update(_labelled(question["description"], languages, "hint"))
    row.update(_required_and_relevant(question, types or {}))
    if kind == "likert":
        row["type"] = f"select_one {SCALE_LIST}"
    elif kind == "nps":
        row["type"] = f"select_one {NPS_LIST}"
    elif kind == "yesno":
        row["type"] = f"select_one {YESNO_LIST}"
    elif kind in ("single", "multi"):
        row["type"] = f"{'select_one' if kind == 'single' else 'select_multiple'} {question['code']}"
        for option in question.get("options", []):
            choices.append({"list_name": question["code"], "name": option["value"],
                            **_labelled(option.get("label"), languages)})
    elif kind == "number":
        row["type"] = "decimal"
        bounds = [f". >= {question['min']}"] if question.get("min") is not None else []
        bounds += [f". <= {question['max']}"] if question.get("max") is not None else []
        if bounds:
            row["constraint"] = " and ".join(bounds)
    else:
        row["type"] = "text"
    return row


def _fixed_choices(definition: dict, languages: list[str]) -> list[dict]:
    scale = definition.get("scale") or {}
    rows = []
    satisfied = set(scale.get("satisfied", []))
    for point in range(1, int(scale.get("points", 0)) + 1):
        labels = {lang: (scale.get("labels", {}).get(lang) or [""] * point)[point - 1]
                  for lang in languages}
        rows.append({"list_name": SCALE_LIST, "name": str(point), **_labelled(labels, languages),
                     "sipas_satisfied": "yes" if point in satisfied else ""})
    for point in range(0, 11):
        numbers = _labelled(dict.fromkeys(languages, str(point)), languages)
        rows.append({"list_name": NPS_LIST, "name": str(point), **numbers})
    rows.append({"list_name": YESNO_LIST, "name": "yes", **_labelled({"vi": "Có", "en": "Yes"}, languages)})
    rows.append({"list_name": YESNO_LIST, "name": "no", **_labelled({"vi": "Không", "en": "No"}, languages)})
    return rows


def export_xlsform(definition: dict) -> bytes:
    """A questionnaire definition (FORMATS.md §1 as a mapping) as an XLSForm workbook."""
    languages = list(definition["languages"])
    survey, choices = [], _fixed_choices(definition, languages)
    types = {q["code"]: q["type"] for e in definition.get("elements", []) for q in e.get("questions", [])}
    types.update({q["code"]: q["type"] for q in definition.get("questions", [])})
    if definition.get("description"):
        survey.append({"type": "note", "name": "sipas_description",
                       **_labelled(definition["description"], languages)})
    for element in definition.get("elements", []):
        weight = element.get("weight")
        survey.append({"type": "begin_group", "name": element["code"],
                       **_labelled(element.get("title"), languages),
                       "sipas_weight": "" if weight is None else str(weight)})
        survey += [_question_rows(q, languages, choices, types) for q in element.get("questions", [])]
        survey.append({"type": "end_group", "name": element["code"]})
    survey += [_question_rows(q, languages, choices, types) for q in definition.get("questions", [])]
    title = definition.get("title") or {}
    settings = [{"form_title": title.get(languages[0], definition["code"]),
                 "form_id": definition["code"], "version": str(definition["version"]),
                 "default_language": f"{LANGUAGE_NAMES.get(languages[0], languages[0])} ({languages[0]})",
                 "sipas_languages": " ".join(languages),
                 **{f"sipas_title::{lang}": title.get(lang, "") for lang in languages}}]
    book = Workbook()
    book.remove(book.active)
    for name, rows in (("survey", survey), ("choices", choices), ("settings", settings)):
        sheet = book.create_sheet(name)
        header = list(dict.fromkeys(key for row in rows for key in row))
        sheet.append(header)
        for row in rows:
            sheet.append([row.get(key, "") for key in header])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- import


def _sheet_rows(book, name: str, problems: list[str]) -> list[tuple[int, dict]]:
    if name not in book.sheetnames:
        if name != "settings":
            problems.append(f"the workbook has no {name!r} sheet")
        return []
    sheet = book[name]
    if sheet.max_row > MAX_ROWS:
        problems.append(f"sheet {name}: {sheet.max_row} rows (at most {MAX_ROWS})")
        return []
    rows = list(sheet.iter_rows())
    if not rows:
        return []
    header = [str(c.value).strip() if c.value is not None else "" for c in rows[0]]
    out = []
    for row in rows[1:]:
        cells = {}
        for column, cell in zip(header, row, strict=False):
            if cell.data_type == "f":
                problems.append(f"sheet {name}, row {cell.row}, column {column or cell.column_letter}: "
                                "a formula (only plain values are read)")
            if column and cell.value is not None and str(cell.value).strip() != "":
                cells[column] = str(cell.value).strip()
        if cells:
            out.append((row[0].row, cells))
    return out


def _texts(cells: dict, kind: str = "label") -> dict[str, str]:
    out = {}
    for column, value in cells.items():
        match = _LABEL.match(column)
        if match and match.group(1) == kind:
            out[match.group(2)] = value
        elif column == kind:
            out.setdefault("vi", value)
    return out


def _choices(rows: list[tuple[int, dict]]) -> dict[str, list[dict]]:
    lists: dict[str, list[dict]] = {}
    for _number, cells in rows:
        lists.setdefault(cells.get("list_name", ""), []).append(cells)
    if SCALE_LIST not in lists:
        # A form not written by the platform: its rating scale is the first list of the values 1..N.
        for name, items in list(lists.items()):
            names = [c.get("name") for c in items]
            if 3 <= len(items) <= 10 and names == [str(i) for i in range(1, len(items) + 1)]:
                lists[SCALE_LIST] = items
                lists[_RATING] = [{"name": name}]
                break
    return lists


def _select(kind: str, list_name: str, lists: dict, question: dict) -> bool:
    """A select question's type (and options); False when its list is missing."""
    fixed = {SCALE_LIST: "likert", NPS_LIST: "nps", YESNO_LIST: "yesno"}.get(list_name)
    if fixed is None and kind == "select_one" and list_name in [i["name"] for i in lists.get(_RATING, [])]:
        fixed = "likert"
    if fixed:
        question["type"] = fixed
    elif list_name in lists:
        question["type"] = "single" if kind == "select_one" else "multi"
        question["options"] = [{"value": c.get("name", ""), "label": _texts(c)} for c in lists[list_name]]
    else:
        return False
    return True


def _relevant_value(text: str, kind: str):
    """A `relevant` value as the show_if value of a question of this type."""
    if kind in ("likert", "nps") and re.fullmatch(r"[0-9]+", text):
        return int(text)
    if kind == "number":
        number = float(text)
        return int(number) if number.is_integer() else number
    return text


def _show_if(number: int, expression: str, types: dict[str, str], problems: list[str]) -> dict | None:
    """A `relevant` expression of the forms the export writes, as a show_if; else a problem."""
    where = f"sheet survey, row {number}, column relevant"
    refused = f"{where}: {expression!r} is not supported (supported: {'; '.join(_RELEVANT_FORMS)})"
    parts = [p.strip() for p in re.split(r"\s+or\s+", expression.strip())]
    found = []
    for part in parts:
        compare, selected = _RELEVANT_COMPARE.match(part), _RELEVANT_SELECTED.match(part)
        if compare:
            found.append((compare.group(1), compare.group(2), compare.group(3) if compare.group(3) is not None
                          else compare.group(4)))
        elif selected:
            found.append((selected.group(1), "=", selected.group(2)))
        else:
            problems.append(refused)
            return None
    codes = {code for code, _sign, _value in found}
    signs = {sign for _code, sign, _value in found}
    if len(codes) != 1 or (len(found) > 1 and signs != {"="}):
        problems.append(refused)
        return None
    code = found[0][0]
    kind = types.get(code, "")
    try:
        values = [_relevant_value(value, kind) for _code, _sign, value in found]
    except ValueError:
        problems.append(f"{where}: {expression!r}: {code} is a number question; compare it with a number")
        return None
    if len(found) > 1:
        return {"question": code, "one_of": values}
    operator = {"=": "equals", "<=": "at_most", ">=": "at_least"}[found[0][1]]
    return {"question": code, operator: values[0]}


def _unsupported_columns(number: int, cells: dict, question: dict, problems: list[str],
                         types: dict[str, str] | None) -> None:
    for column in ("calculation", "repeat_count", "choice_filter", "trigger"):
        if column in cells:
            problems.append(f"sheet survey, row {number}, column {column}: not supported by the platform")
    if "relevant" in cells:
        show_if = _show_if(number, cells["relevant"], types if types is not None else {}, problems)
        if show_if is not None:
            question["show_if"] = show_if


def _question(number: int, cells: dict, lists: dict, problems: list[str],
              types: dict[str, str] | None = None) -> dict | None:
    kind, _, list_name = cells.get("type", "").partition(" ")
    where = f"sheet survey, row {number}, column type"
    question: dict = {"code": cells.get("name", ""), "text": _texts(cells)}
    hint = _texts(cells, "hint")
    if hint:
        question["description"] = hint
    if cells.get("required", "").lower() in ("yes", "true", "true()", "1"):
        question["required"] = True
    _unsupported_columns(number, cells, question, problems, types)
    if kind in ("select_one", "select_multiple"):
        if not _select(kind, list_name.strip(), lists, question):
            problems.append(f"{where}: no list {list_name.strip()!r} in the choices sheet")
            return None
    elif kind == "text":
        question["type"] = "text"
    elif kind in ("decimal", "integer"):
        question["type"] = "number"
        _bounds(number, cells.get("constraint", ""), question, problems)
    else:
        problems.append(f"{where}: {cells.get('type', '')!r} is not supported by the platform "
                        f"(supported: {', '.join(SUPPORTED_TYPES)})")
        return None
    if types is not None:
        types[question["code"]] = question["type"]
    return question


def _bounds(number: int, constraint: str, question: dict, problems: list[str]) -> None:
    for part in filter(None, (p.strip() for p in constraint.split(" and "))):
        match = _BOUND.match(part)
        if match is None:
            problems.append(f"sheet survey, row {number}, column constraint: only '. >= N' and '. <= N'")
            continue
        value = float(match.group(2))
        question["min" if match.group(1) == ">=" else "max"] = int(value) if value.is_integer() else value


def _group(number: int, cells: dict, open_group, problems: list[str]) -> dict:
    if open_group is not None:
        problems.append(f"sheet survey, row {number}, column type: groups inside groups are not supported")
    group = {"code": cells.get("name", ""), "title": _texts(cells), "questions": []}
    if cells.get("sipas_weight"):
        weight = float(cells["sipas_weight"])
        group["weight"] = int(weight) if weight.is_integer() else weight
    return group


def _survey(rows, lists, problems) -> tuple[list, list, dict | None]:
    elements, questions, description, group = [], [], None, None
    types: dict[str, str] = {}  # the questions read so far: what a later `relevant` compares
    for number, cells in rows:
        kind = cells.get("type", "").split(" ")[0].replace(" ", "_")
        if cells.get("type", "").startswith(("begin repeat", "begin_repeat")):
            problems.append(f"sheet survey, row {number}, column type: a repeat is not supported")
        elif kind in ("begin_group", "begin"):
            group = _group(number, cells, group, problems)
        elif kind in ("end_group", "end"):
            if group is not None:
                elements.append(group)
            group = None
        elif kind == "note" and cells.get("name") == "sipas_description":
            description = _texts(cells)
        elif kind == "note":
            continue
        else:
            question = _question(number, cells, lists, problems, types)
            if question is not None:
                (group["questions"] if group is not None else questions).append(question)
    return elements, questions, description


def _languages(survey_rows, scale_rows) -> list[str]:
    """The languages of the labels, Vietnamese first (for a form not written by this platform)."""
    found = {lang for _n, cells in survey_rows for lang in _texts(cells)}
    found |= {lang for cells in scale_rows for lang in _texts(cells)}
    return sorted(found or {"vi"}, key=lambda lang: (lang != "vi", lang))


def _has_macros(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(name.lower().endswith("vbaproject.bin") for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


def _workbook(data: bytes, source: str):
    if _has_macros(data):
        raise XLSFormError([f"{source}: the workbook holds macros; save it as a plain .xlsx"])
    try:
        return load_workbook(io.BytesIO(data), read_only=False, data_only=False)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise XLSFormError([f"{source}: not an .xlsx workbook ({exc.__class__.__name__})"]) from exc


def import_xlsform(data: bytes, source: str = "form.xlsx") -> Questionnaire:
    """The questionnaire an XLSForm describes, validated; XLSFormError lists every problem."""
    book = _workbook(data, source)
    problems: list[str] = []
    lists = _choices(_sheet_rows(book, "choices", problems))
    survey_rows = _sheet_rows(book, "survey", problems)
    settings_rows = _sheet_rows(book, "settings", problems)
    settings = settings_rows[0][1] if settings_rows else {}
    elements, questions, description = _survey(survey_rows, lists, problems)
    scale_rows = lists.get(SCALE_LIST, [])
    languages = settings.get("sipas_languages", "").split() or _languages(survey_rows, scale_rows)
    definition = {
        "code": settings.get("form_id", ""), "version": int(float(settings.get("version", "1") or 1)),
        "title": {lang: settings.get(f"sipas_title::{lang}") or settings.get("form_title", "")
                  for lang in languages},
        "languages": languages, "elements": elements,
    }
    if description:
        definition["description"] = description
    if questions:
        definition["questions"] = questions
    if scale_rows:
        definition["scale"] = {
            "points": len(scale_rows),
            "labels": {lang: [_texts(c).get(lang, "") for c in scale_rows] for lang in languages},
            # Marked in sipas_satisfied; a form not written by the platform: the two highest points.
            "satisfied": [int(c["name"]) for c in scale_rows if c.get("sipas_satisfied") == "yes"]
            or [len(scale_rows) - 1, len(scale_rows)],
        }
    if problems:
        raise XLSFormError([f"{source}: {p}" for p in problems])
    try:
        return parse_questionnaire(definition, source=source)
    except QuestionnaireError as exc:
        raise XLSFormError(list(exc.errors)) from exc
    except ValueError as exc:
        raise XLSFormError([str(exc)]) from exc


def stored_version(code: str, number: int | None = None) -> QuestionnaireVersion | None:
    """A stored version of a questionnaire (the latest when no number is given)."""
    query = (select(QuestionnaireVersion).join(QuestionnaireRow).where(QuestionnaireRow.code == code)
             .order_by(QuestionnaireVersion.version.desc()))
    if number is not None:
        query = query.where(QuestionnaireVersion.version == number)
    return db.session.scalars(query.limit(1)).first()


def export_version(version: QuestionnaireVersion) -> bytes:
    """A stored version as an XLSForm workbook."""
    return export_xlsform(version.definition)
