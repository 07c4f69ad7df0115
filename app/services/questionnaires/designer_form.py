"""The structured designer form: a draft definition to form fields and back, plus add/remove steps.

Field names are flat (`e0_q1_text_vi`) so the page works without JavaScript; the
definition built from them is validated like any questionnaire file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.inputs import whole_number

QUESTION_TYPES = ("likert", "single", "multi", "yesno", "nps", "text", "number")
CONDITION_OPERATORS = ("equals", "one_of", "at_most", "at_least")
LANGS = ("vi", "en")
MAX_POINTS = 11


class MoveRefused(ValueError):
    """A move would put a question before the question its condition reads (or that one after it)."""

    def __init__(self, question: str, depends_on: str):
        super().__init__(f"{question} depends on {depends_on}")
        self.question, self.depends_on = question, depends_on


def _texts(value: Any) -> dict[str, str]:
    value = value if isinstance(value, dict) else {}
    return {lang: str(value.get(lang, "") or "") for lang in LANGS}


def _options_text(options: Any) -> str:
    lines = []
    for option in options if isinstance(options, list) else []:
        if isinstance(option, dict):
            label = _texts(option.get("label"))
            lines.append(f"{option.get('value', '')} | {label['vi']} | {label['en']}")
    return "\n".join(lines)


def _condition_view(show_if: Any) -> dict:
    show_if = show_if if isinstance(show_if, dict) else {}
    operator = next((op for op in CONDITION_OPERATORS if op in show_if), "")
    value = show_if.get(operator, "")
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, bool):
        value = "yes" if value else "no"
    return {"question": str(show_if.get("question", "")), "operator": operator, "value": str(value)}


def _question_view(question: Any) -> dict:
    question = question if isinstance(question, dict) else {}
    return {
        "show_if": _condition_view(question.get("show_if")),
        "code": str(question.get("code", "")), "type": str(question.get("type", "likert")),
        "text": _texts(question.get("text")), "required": bool(question.get("required", False)),
        "options": _options_text(question.get("options")),
        "min": "" if question.get("min") is None else str(question.get("min")),
        "max": "" if question.get("max") is None else str(question.get("max")),
    }


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def fits_form(definition: dict) -> bool:
    """Whether the structured form can edit this draft without losing anything (vi/en texts only)."""
    languages = definition.get("languages")
    return isinstance(languages, list) and set(languages) <= set(LANGS)


def to_form(definition: dict) -> dict:
    """A draft definition as the values the structured form shows (tolerates unfinished drafts)."""
    scale = definition.get("scale") if isinstance(definition.get("scale"), dict) else {}
    points = scale.get("points") if isinstance(scale.get("points"), int) else 5
    labels = scale.get("labels") if isinstance(scale.get("labels"), dict) else {}
    view = {
        "title": _texts(definition.get("title")),
        "points": points,
        "labels": {lang: [str(x) for x in _list(labels.get(lang))] for lang in LANGS},
        "satisfied": {x for x in _list(scale.get("satisfied")) if isinstance(x, int)},
        "elements": [
            {"code": str(e.get("code", "")), "title": _texts(e.get("title")),
             "weight": str(e.get("weight", 1)),
             "questions": [_question_view(q) for q in _list(e.get("questions"))]}
            for e in _list(definition.get("elements")) if isinstance(e, dict)
        ],
        "questions": [_question_view(q) for q in _list(definition.get("questions"))],
    }
    _pickable(view)
    return view


def _pickable(view: dict) -> None:
    """Each question's condition picker offers the questions before it (and keeps a later one already
    chosen, so the page shows what the draft says and validation names the fault)."""
    seen: list[str] = []
    for question in [q for e in view["elements"] for q in e["questions"]] + view["questions"]:
        chosen = question["show_if"]["question"]
        question["earlier"] = seen + ([chosen] if chosen and chosen not in seen else [])
        seen = [*seen, question["code"]]


def _number(text: str) -> int | float | str:
    """Numbers typed in the form; anything else is kept so validation names the field."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _parse_options(text: str, langs: list[str]) -> list[dict]:
    options = []
    for line in text.splitlines():
        if not line.strip():
            continue
        value, _, rest = (part.strip() for part in line.partition("|"))
        vi, _, en = (part.strip() for part in rest.partition("|"))
        label = {"vi": vi or value, "en": en or vi or value}
        options.append({"value": value, "label": {lang: label[lang] for lang in langs}})
    return options


def _texts_of(form: Mapping[str, str], prefix: str, langs: list[str]) -> dict[str, str]:
    return {lang: form.get(f"{prefix}_{lang}", "").strip() for lang in langs}


def _question(form: Mapping[str, str], prefix: str, langs: list[str]) -> dict:
    question: dict[str, Any] = {
        "code": form.get(f"{prefix}_code", "").strip(),
        "type": form.get(f"{prefix}_type", "likert"),
        "text": _texts_of(form, f"{prefix}_text", langs),
        "required": form.get(f"{prefix}_required") == "y",
    }
    if question["type"] in ("single", "multi"):
        question["options"] = _parse_options(form.get(f"{prefix}_options", ""), langs)
    if question["type"] == "number":
        for key in ("min", "max"):
            if form.get(f"{prefix}_{key}", "").strip():
                question[key] = _number(form.get(f"{prefix}_{key}", ""))
    condition = _condition(form, prefix)
    if condition is not None:
        question["show_if"] = condition
    return question


def _condition(form: Mapping[str, str], prefix: str) -> dict | None:
    """The condition fields: earlier question, operator, value (a list, comma separated, for one_of).
    Values stay text here; `_typed_conditions` reads them as the earlier question's answers."""
    code = form.get(f"{prefix}_if_q", "").strip()
    operator = form.get(f"{prefix}_if_op", "").strip()
    if not code and not operator:
        return None
    value = form.get(f"{prefix}_if_value", "").strip()
    condition: dict[str, Any] = {"question": code}
    if operator in CONDITION_OPERATORS:
        condition[operator] = [v.strip() for v in value.split(",") if v.strip()] if operator == "one_of" \
            else value
    return condition


def _typed_conditions(definition: dict) -> None:
    """Ratings and numbers typed as text become numbers when the earlier question is rated or numeric."""
    types = {q.get("code"): q.get("type") for q in _all_questions(definition)}
    for question in _all_questions(definition):
        condition = question.get("show_if")
        if not isinstance(condition, dict) or types.get(condition.get("question")) not in (
                "likert", "nps", "number"):
            continue
        for operator in CONDITION_OPERATORS:
            if isinstance(condition.get(operator), list):
                condition[operator] = [_number(str(v)) for v in condition[operator]]
            elif isinstance(condition.get(operator), str):
                condition[operator] = _number(condition[operator])


def _count(form: Mapping[str, str], name: str) -> int:
    return whole_number(form.get(name, "0"), 0, 200) or 0


def _scale(form, points, langs: list[str]) -> dict:
    count = points if isinstance(points, int) and 2 <= points <= MAX_POINTS else 0
    satisfied = sorted(n for n in (whole_number(x, 1, count) for x in form.getlist("satisfied")) if n)
    return {
        "points": points,
        "labels": {lang: [form.get(f"label_{lang}_{i}", "").strip() for i in range(1, count + 1)]
                   for lang in langs},
        "satisfied": satisfied,
    }


def from_form(form, base: dict) -> dict:
    """Build a definition from posted fields, keeping keys the form does not show (description…)."""
    # The draft's own languages, in its order (the first is the default); else vi and en.
    langs = list(base["languages"]) if fits_form(base) and base["languages"] else list(LANGS)
    elements = []
    for i in range(_count(form, "n_elements")):
        element = {
            "code": form.get(f"e{i}_code", "").strip(),
            "title": _texts_of(form, f"e{i}_title", langs),
            "weight": _number(form.get(f"e{i}_weight", "1") or "1"),
            "questions": [_question(form, f"e{i}_q{j}", langs) for j in range(_count(form, f"e{i}_n"))],
        }
        elements.append(element)
    definition = dict(base)
    definition.update({
        "title": _texts_of(form, "title", langs),
        "languages": langs,
        "scale": _scale(form, _number(form.get("points", "5")), langs),
        "elements": elements,
        "questions": [_question(form, f"g_q{j}", langs) for j in range(_count(form, "g_n"))],
    })
    _keep_descriptions(definition, base)
    _typed_conditions(definition)
    return definition


def _all_questions(definition: dict) -> list[dict]:
    questions = [q for e in _list(definition.get("elements")) if isinstance(e, dict)
                 for q in _list(e.get("questions"))]
    return [q for q in questions + _list(definition.get("questions")) if isinstance(q, dict)]


def _keep_descriptions(definition: dict, base: dict) -> None:
    """Question descriptions are not on the form; carry them over by question code."""
    described = {q.get("code"): q["description"] for q in _all_questions(base) if "description" in q}
    for question in _all_questions(definition):
        if question["code"] in described:
            question["description"] = described[question["code"]]


def _new_question(code: str) -> dict:
    return {"code": code, "type": "likert", "text": {"vi": "", "en": ""}, "required": False}


def _index(parts: list[str], position: int, items: list) -> int | None:
    if len(parts) <= position:
        return None
    return whole_number(parts[position], 0, len(items) - 1)


def _earlier_pairs(definition: dict) -> set[tuple[str, str]]:
    """(question, the question its condition reads) where that one comes earlier, in form order."""
    seen: set[str] = set()
    pairs = set()
    for question in _all_questions(definition):
        condition = question.get("show_if")
        if isinstance(condition, dict) and condition.get("question") in seen:
            pairs.add((question.get("code"), condition.get("question")))
        seen.add(question.get("code"))
    return pairs


def _move(items: list, source: int | None, target: int | None) -> None:
    if source is not None and target is not None and source != target:
        items.insert(target, items.pop(source))


def move_step(definition: dict, step: str) -> dict:
    """Reorder: `move_element:FROM:TO`, `move_question:E:FROM:TO`, `move_general:FROM:TO` (the Move up
    and Move down buttons send a neighbour as TO; a drag sends any place). MoveRefused when a question
    would come before the question its condition reads."""
    parts = step.split(":")
    elements = definition.setdefault("elements", [])
    general = definition.setdefault("questions", [])
    before = _earlier_pairs(definition)
    if parts[0] == "move_element":
        _move(elements, _index(parts, 1, elements), _index(parts, 2, elements))
    elif parts[0] == "move_general":
        _move(general, _index(parts, 1, general), _index(parts, 2, general))
    elif parts[0] == "move_question" and (i := _index(parts, 1, elements)) is not None:
        questions = elements[i].setdefault("questions", [])
        _move(questions, _index(parts, 2, questions), _index(parts, 3, questions))
    broken = sorted(before - _earlier_pairs(definition))
    if broken:
        raise MoveRefused(*broken[0])
    return definition


def apply_step(definition: dict, step: str) -> dict:
    """Add or remove an element or question: `add_element`, `add_question:E`, `add_general`,
    `del_element:E`, `del_question:E:Q`, `del_general:Q`; reorder with the `move_…` steps
    (`move_step`). Unknown steps change nothing."""
    parts = step.split(":")
    if parts[0].startswith("move_"):
        return move_step(definition, step)
    elements = definition.setdefault("elements", [])
    general = definition.setdefault("questions", [])
    if parts[0] == "add_element":
        number = len(elements) + 1
        elements.append({"code": f"E{number}", "title": {"vi": "", "en": ""}, "weight": 1,
                         "questions": [_new_question(f"E{number}_1")]})
    elif parts[0] == "add_general":
        general.append({**_new_question(f"Q{len(general) + 1}"), "type": "text"})
    elif parts[0] == "del_general" and (j := _index(parts, 1, general)) is not None:
        general.pop(j)
    elif (i := _index(parts, 1, elements)) is not None:
        _element_step(elements, i, parts)
    return definition


def _element_step(elements: list, i: int, parts: list[str]) -> None:
    questions = elements[i].setdefault("questions", [])
    if parts[0] == "add_question":
        questions.append(_new_question(f"{elements[i].get('code', 'E')}_{len(questions) + 1}"))
    elif parts[0] == "del_element":
        elements.pop(i)
    elif parts[0] == "del_question" and (j := _index(parts, 2, questions)) is not None:
        questions.pop(j)
