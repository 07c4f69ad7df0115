"""Questionnaire files (FORMATS.md section 1): loading, validation and answer parsing.

A questionnaire is read from YAML or JSON into frozen dataclasses. Validation
collects every fault in the document before raising, so an administrator fixes
a file in one pass; each message reads ``"{source}: {key path}: {message}"``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from analysis.errors import QuestionnaireError

__all__ = [
    "CONDITION_OPERATORS",
    "OPTION_QUESTION_TYPES",
    "QUESTION_TYPES",
    "RESERVED_COLUMNS",
    "Condition",
    "Element",
    "Option",
    "Question",
    "Questionnaire",
    "Scale",
    "load_questionnaire",
    "parse_questionnaire",
]

QUESTION_TYPES: tuple[str, ...] = ("likert", "single", "multi", "yesno", "nps", "text", "number")
OPTION_QUESTION_TYPES: tuple[str, ...] = ("single", "multi")

# The fixed columns of the responses CSV (FORMATS.md section 2). Question codes
# become column names in that file, so they must never collide with these.
RESERVED_COLUMNS: tuple[str, ...] = (
    "response_id",
    "survey",
    "survey_version",
    "agency",
    "service_point",
    "service",
    "channel",
    "submitted_at",
    "stratum",
    "psu",
    "weight",
)

_QUESTIONNAIRE_CODE = re.compile(r"[a-z0-9-]+")
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Option values are joined by ';' in multi answers, so they may not contain it.
_OPTION_VALUE = re.compile(r"[A-Za-z0-9_-]+")
# BCP 47-like tags ("vi", "en", "pt-BR"); enough to catch typos and YAML oddities.
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_RATING = re.compile(r"[0-9]+")
# A plain decimal number; float() alone would also take "1_000", "nan" and "inf".
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
# Integral floats below 2**53 are exact as ints, so they can be returned as int.
_EXACT_INT_LIMIT = 2**53

_TOP_KEYS = (
    "code",
    "version",
    "title",
    "description",
    "languages",
    "scale",
    "elements",
    "questions",
    "quick_rating",
    "cases",
)
# When a response opens a case by itself (issue 18): an overall rating or any criterion at or below these.
_CASES_KEYS = ("overall_at_most", "any_criterion_at_most")
# The question a quick rating asks first (issue 16): the overall satisfaction item.
QUICK_RATING_CODE = "OVERALL"
_SCALE_KEYS = ("points", "labels", "satisfied")
_ELEMENT_KEYS = ("code", "title", "weight", "questions")
_QUESTION_KEYS = ("code", "type", "text", "description", "required", "options", "min", "max", "show_if")
# Skip logic (`show_if`): the operators, and the types of the earlier question each one can read.
CONDITION_OPERATORS: tuple[str, ...] = ("equals", "one_of", "at_most", "at_least")
_CONDITION_TYPES: dict[str, tuple[str, ...]] = {
    "equals": ("yesno", "single", "multi", "likert", "nps", "number"),
    "one_of": ("single", "multi", "likert", "nps"),
    "at_most": ("likert", "nps", "number"),
    "at_least": ("likert", "nps", "number"),
}
_OPTION_KEYS = ("value", "label")
_MIN_POINTS, _MAX_POINTS = 2, 11


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Option:
    """One choice of a `single` or `multi` question."""

    value: str
    label: dict[str, str]

    def __hash__(self) -> int:
        # The dict fields are unhashable; equal objects always share these fields.
        return hash(self.value)


@dataclass(frozen=True)
class Scale:
    """The rating scale of `likert` questions: ratings 1..points."""

    points: int
    labels: dict[str, tuple[str, ...]]
    satisfied: frozenset[int]

    def __hash__(self) -> int:
        # The dict fields are unhashable; equal objects always share these fields.
        return hash((self.points, self.satisfied))


@dataclass(frozen=True)
class Condition:
    """`show_if`: the question is asked only when an earlier question's answer meets this.

    `value` is a string (yes/no and option values), an integer (likert, nps), a number, or for
    `one_of` a tuple of those. A question whose condition is not met is not applicable: its answer
    is not kept, it is never required, and it counts nowhere (neither missing nor dissatisfied).
    """

    question: str
    operator: str
    value: Any

    def __hash__(self) -> int:
        return hash((self.question, self.operator, self.value))

    def met(self, answer: Any) -> bool:
        """Whether a parsed answer of the earlier question meets the condition (None never does)."""
        if answer is None:
            return False
        if isinstance(answer, bool):
            answer = "yes" if answer else "no"
        if self.operator in ("equals", "one_of"):
            wanted = self.value if self.operator == "one_of" else (self.value,)
            if isinstance(answer, tuple):  # a multi answer: any of the wanted options ticked
                return any(value in answer for value in wanted)
            return answer in wanted
        if isinstance(answer, str | tuple):
            return False
        return answer <= self.value if self.operator == "at_most" else answer >= self.value

    def describe(self) -> str:
        """The condition as a short formula, the same in every language: "FEEDBACK = yes"."""
        if self.operator == "one_of":
            return f"{self.question} ∈ {{{', '.join(str(v) for v in self.value)}}}"
        sign = {"equals": "=", "at_most": "≤", "at_least": "≥"}[self.operator]
        return f"{self.question} {sign} {self.value}"

    def definition(self) -> dict[str, Any]:
        """The `show_if` mapping as the file writes it."""
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"question": self.question, self.operator: value}


@dataclass(frozen=True)
class Question:
    """One question; its `code` is the responses CSV column name."""

    code: str
    type: str
    text: dict[str, str]
    required: bool
    options: tuple[Option, ...]
    element: str | None
    description: dict[str, str] | None = None
    min_value: int | float | None = None
    max_value: int | float | None = None
    # Asked only when this holds (skip logic); None: always asked.
    show_if: Condition | None = None

    def __hash__(self) -> int:
        # The dict fields are unhashable; equal objects always share these fields.
        return hash((self.code, self.type, self.element))

    def option_values(self) -> tuple[str, ...]:
        """Return the allowed option values, in file order."""
        return tuple(option.value for option in self.options)

    def parse_answer(self, cell: str, scale: Scale | None) -> Any:
        """Parse one CSV cell into a Python value; "" means not answered (None)."""
        if cell == "":
            return None
        if self.type == "text":
            return cell
        # Spreadsheets often pad cells; spaces never carry meaning outside text.
        stripped = cell.strip()
        if stripped == "":
            return None
        return _ANSWER_PARSERS[self.type](self, stripped, scale)

    def format_answer(self, value: Any) -> str:
        """Format a parsed answer back into its CSV cell (inverse of `parse_answer`)."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, tuple):
            return ";".join(value)
        if isinstance(value, int | str):
            return str(value)
        if isinstance(value, float):
            return _format_float(value)
        raise TypeError(f"{self.code}: cannot format answer of type {type(value).__name__}")

    def _bad(self, cell: str, domain: str) -> ValueError:
        return ValueError(f"{self.code}: invalid answer {cell!r} (expected {domain})")

    def _parse_likert(self, cell: str, scale: Scale | None) -> int:
        if scale is None:
            raise ValueError(f"{self.code}: a likert answer needs the questionnaire's scale")
        return self._parse_integer(cell, 1, scale.points)

    def _parse_nps(self, cell: str, scale: Scale | None) -> int:
        return self._parse_integer(cell, 0, 10)

    def _parse_integer(self, cell: str, low: int, high: int) -> int:
        domain = f"an integer from {low} to {high}"
        if not _RATING.fullmatch(cell):
            raise self._bad(cell, domain)
        value = int(cell)
        if not low <= value <= high:
            raise self._bad(cell, domain)
        return value

    def _parse_number(self, cell: str, scale: Scale | None) -> int | float:
        domain = "a finite decimal number" + _bounds_text(self.min_value, self.max_value)
        if not _DECIMAL.fullmatch(cell):
            raise self._bad(cell, domain)
        number = float(cell)
        if not math.isfinite(number):
            raise self._bad(cell, domain)
        if self.min_value is not None and number < self.min_value:
            raise self._bad(cell, domain)
        if self.max_value is not None and number > self.max_value:
            raise self._bad(cell, domain)
        if number.is_integer() and abs(number) < _EXACT_INT_LIMIT:
            return int(number)
        return number

    def _parse_yesno(self, cell: str, scale: Scale | None) -> bool:
        if cell not in ("yes", "no"):
            raise self._bad(cell, "'yes' or 'no'")
        return cell == "yes"

    def _parse_single(self, cell: str, scale: Scale | None) -> str:
        if cell not in self.option_values():
            raise self._bad(cell, "one of " + ", ".join(self.option_values()))
        return cell

    def _parse_multi(self, cell: str, scale: Scale | None) -> tuple[str, ...]:
        allowed = self.option_values()
        domain = "option values joined by ';', each once, from " + ", ".join(allowed)
        values = tuple(part.strip() for part in cell.split(";"))
        if any(value not in allowed for value in values) or len(set(values)) != len(values):
            raise self._bad(cell, domain)
        return values


_ANSWER_PARSERS: dict[str, Callable[[Question, str, Scale | None], Any]] = {
    "likert": Question._parse_likert,
    "nps": Question._parse_nps,
    "number": Question._parse_number,
    "yesno": Question._parse_yesno,
    "single": Question._parse_single,
    "multi": Question._parse_multi,
}


def _format_float(value: float) -> str:
    if value.is_integer() and abs(value) < _EXACT_INT_LIMIT:
        return str(int(value))
    # repr() is the shortest string that reads back to the same float.
    return repr(value)


def _bounds_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


@dataclass(frozen=True)
class Element:
    """A group of criteria that forms one sub-index, weighted in the overall index."""

    code: str
    title: dict[str, str]
    weight: float
    questions: tuple[Question, ...]

    def __hash__(self) -> int:
        # The dict fields are unhashable; equal objects always share these fields.
        return hash((self.code, self.weight, self.questions))


@dataclass(frozen=True)
class Questionnaire:
    """A validated questionnaire and its normalised, JSON-serialisable definition."""

    code: str
    version: int
    title: dict[str, str]
    languages: tuple[str, ...]
    scale: Scale
    elements: tuple[Element, ...]
    questions: tuple[Question, ...]
    definition: dict[str, Any] = field(default_factory=dict)
    description: dict[str, str] | None = None
    # Open the form with the overall question alone (True), never (False), or as the app decides (None).
    quick_rating: bool | None = None
    # Thresholds at or below which a response opens a case (keys of _CASES_KEYS), or None: never.
    cases: dict[str, int] | None = None

    def __hash__(self) -> int:
        # The dict fields are unhashable; equal objects always share these fields.
        return hash((self.code, self.version, self.elements, self.questions))

    def all_questions(self) -> tuple[Question, ...]:
        """Return the elements' questions in order, then the questions outside elements."""
        inside = tuple(q for element in self.elements for q in element.questions)
        return inside + self.questions

    def likert_codes(self) -> tuple[str, ...]:
        """Return the codes of the index criteria: likert questions inside elements."""
        return tuple(
            q.code for element in self.elements for q in element.questions if q.type == "likert"
        )

    def question(self, code: str) -> Question:
        """Return the question with this code; KeyError if there is none."""
        return self._questions_by_code[code]

    def element(self, code: str) -> Element:
        """Return the element with this code; KeyError if there is none."""
        for element in self.elements:
            if element.code == code:
                return element
        raise KeyError(code)

    def skipped(self, answers: dict[str, Any]) -> frozenset[str]:
        """The codes of the questions not applicable to these parsed answers (code -> value).

        A question is skipped when its `show_if` is not met; the answer of a skipped question
        counts as no answer, so a question that depends on a skipped one is skipped too.
        """
        skipped: set[str] = set()
        for q in self.all_questions():
            condition = q.show_if
            if condition is None:
                continue
            answer = None if condition.question in skipped else answers.get(condition.question)
            if not condition.met(answer):
                skipped.add(q.code)
        return frozenset(skipped)

    def has_conditions(self) -> bool:
        """Whether any question has a `show_if`."""
        return any(q.show_if is not None for q in self.all_questions())

    @property
    def default_language(self) -> str:
        """Return the default language, the first of `languages`."""
        return self.languages[0]

    @cached_property
    def _questions_by_code(self) -> dict[str, Question]:
        return {q.code: q for q in self.all_questions()}


# ---------------------------------------------------------------------- validation


class _Missing:
    """Marks an absent key, distinct from an explicit null."""


_MISSING = _Missing()


class _Checker:
    """Collects the errors of one document, so every fault is reported at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []
        self.languages: tuple[str, ...] | None = None
        self.question_codes: dict[str, str] = {}
        self.element_codes: dict[str, str] = {}
        # Parsed questions in file order with their key paths, for the conditions' second pass.
        self.parsed_questions: list[tuple[str, Question]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{self.source}: {path or '(top)'}: {message}")

    def mark(self) -> int:
        return len(self.errors)

    def failed_since(self, mark: int) -> bool:
        return len(self.errors) > mark


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    """Name a value's type the way a YAML/JSON author would."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def _mapping(
    ck: _Checker, value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...]
) -> dict[str, Any] | None:
    """Check a mapping's keys: unknown ones (typos) and missing required ones."""
    if not isinstance(value, dict):
        ck.error(path, f"expected a mapping, got {_kind(value)}")
        return None
    for key in value:
        if key not in allowed:
            ck.error(_key(path, str(key)), f"unknown key {key!r} (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in value:
            ck.error(_key(path, key), "missing required key")
    return value


def _list(ck: _Checker, value: Any, path: str, what: str) -> list[Any] | None:
    if not isinstance(value, list):
        ck.error(path, f"expected a list of {what}, got {_kind(value)}")
        return None
    if not value:
        ck.error(path, f"must not be empty (expected a list of {what})")
        return None
    return value


def _string(ck: _Checker, value: Any, path: str) -> str | None:
    if not isinstance(value, str):
        hint = " (quote it in YAML)" if isinstance(value, bool | int | float) else ""
        ck.error(path, f"expected a string, got {_kind(value)}{hint}")
        return None
    if not value.strip():
        ck.error(path, "must be a non-empty string")
        return None
    return value


def _code(ck: _Checker, value: Any, path: str, pattern: re.Pattern[str] = _CODE) -> str | None:
    text = _string(ck, value, path)
    if text is not None and not pattern.fullmatch(text):
        ck.error(path, f"invalid code {text!r} (must match {pattern.pattern})")
        return None
    return text


def _number(ck: _Checker, value: Any, path: str) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        ck.error(path, f"expected a number, got {_kind(value)}")
        return None
    if not math.isfinite(value):
        ck.error(path, f"must be a finite number, got {value!r}")
        return None
    return value


def _integer(ck: _Checker, value: Any, path: str, low: int, high: int | None) -> int | None:
    bounds = f"from {low} to {high}" if high is not None else f">= {low}"
    if isinstance(value, bool) or not isinstance(value, int):
        ck.error(path, f"expected an integer {bounds}, got {_kind(value)}")
        return None
    if value < low or (high is not None and value > high):
        ck.error(path, f"expected an integer {bounds}, got {value}")
        return None
    return value


def _language_map(ck: _Checker, value: Any, path: str) -> dict[str, Any] | None:
    """Check that a {lang: ...} map has exactly the questionnaire's languages."""
    if not isinstance(value, dict):
        ck.error(path, f"expected a {{language: text}} mapping, got {_kind(value)}")
        return None
    languages = ck.languages
    if languages is None:  # `languages` itself is broken: already reported there
        return value
    for lang in value:
        if lang not in languages:
            ck.error(
                _key(path, str(lang)),
                f"unknown language {lang!r} (languages: {', '.join(languages)})",
            )
    for lang in languages:
        if lang not in value:
            ck.error(_key(path, lang), "missing translation")
    return value


def _text(ck: _Checker, value: Any, path: str) -> dict[str, str] | None:
    """Check a human text: a {lang: non-empty string} map."""
    mark = ck.mark()
    mapping = _language_map(ck, value, path)
    if mapping is None:
        return None
    for lang, text in mapping.items():
        _string(ck, text, _key(path, str(lang)))
    if ck.failed_since(mark):
        return None
    return {lang: mapping[lang] for lang in ck.languages or mapping}


def _field(ck: _Checker, doc: dict[str, Any], key: str, path: str, check: Callable, *args: Any):
    """Run `check` on doc[key] if present; absence was reported by `_mapping`."""
    if key not in doc:
        return None
    return check(ck, doc[key], _key(path, key), *args)


def _languages(ck: _Checker, value: Any, path: str) -> tuple[str, ...] | None:
    items = _list(ck, value, path, "language codes")
    if items is None:
        return None
    mark = ck.mark()
    seen: set[str] = set()
    for i, item in enumerate(items):
        lang = _code(ck, item, f"{path}[{i}]", _LANGUAGE)
        if lang is not None and lang in seen:
            ck.error(f"{path}[{i}]", f"duplicate language {lang!r}")
        elif lang is not None:
            seen.add(lang)
    return None if ck.failed_since(mark) else tuple(items)


# -------------------------------------------------------------------------- scale


def _scale(ck: _Checker, value: Any, path: str) -> Scale | None:
    mark = ck.mark()
    doc = _mapping(ck, value, path, _SCALE_KEYS, _SCALE_KEYS)
    if doc is None:
        return None
    points = _field(ck, doc, "points", path, _integer, _MIN_POINTS, _MAX_POINTS)
    labels = _field(ck, doc, "labels", path, _scale_labels, points)
    satisfied = _field(ck, doc, "satisfied", path, _satisfied, points)
    if ck.failed_since(mark) or points is None or labels is None or satisfied is None:
        return None
    return Scale(points=points, labels=labels, satisfied=satisfied)


def _scale_labels(
    ck: _Checker, value: Any, path: str, points: int | None
) -> dict[str, tuple[str, ...]] | None:
    mark = ck.mark()
    mapping = _language_map(ck, value, path)
    if mapping is None:
        return None
    for lang, labels in mapping.items():
        lang_path = _key(path, str(lang))
        if not isinstance(labels, list):
            ck.error(lang_path, f"expected a list of labels, got {_kind(labels)}")
            continue
        if points is not None and len(labels) != points:
            ck.error(lang_path, f"expected {points} labels (one per point), got {len(labels)}")
        for i, label in enumerate(labels):
            _string(ck, label, f"{lang_path}[{i}]")
    if ck.failed_since(mark):
        return None
    return {lang: tuple(mapping[lang]) for lang in ck.languages or mapping}


def _satisfied(ck: _Checker, value: Any, path: str, points: int | None) -> frozenset[int] | None:
    items = _list(ck, value, path, "ratings")
    if items is None:
        return None
    mark = ck.mark()
    seen: set[int] = set()
    for i, item in enumerate(items):
        # Without a valid `points` the range is unknown; still check integers >= 1.
        rating = _integer(ck, item, f"{path}[{i}]", 1, points)
        if rating is not None and rating in seen:
            ck.error(f"{path}[{i}]", f"duplicate rating {rating}")
        elif rating is not None:
            seen.add(rating)
    return None if ck.failed_since(mark) else frozenset(seen)


# -------------------------------------------------------------------- questions


def _claim(ck: _Checker, registry: dict[str, str], code: str, path: str, kind: str) -> None:
    """Record a code, reporting a duplicate with the place of its first use."""
    if code in registry:
        ck.error(path, f"duplicate {kind} code {code!r} (first used at {registry[code]})")
    else:
        registry[code] = path


def _question_code(ck: _Checker, value: Any, path: str) -> str | None:
    code = _code(ck, value, path)
    if code is None:
        return None
    if code in RESERVED_COLUMNS:
        ck.error(
            path,
            f"{code!r} is a reserved response column name "
            f"(reserved: {', '.join(RESERVED_COLUMNS)})",
        )
        return None
    _claim(ck, ck.question_codes, code, path, "question")
    return code


def _question_type(ck: _Checker, value: Any, path: str) -> str | None:
    if value not in QUESTION_TYPES:
        shown = repr(value) if isinstance(value, str) else _kind(value)
        ck.error(path, f"unknown type {shown} (expected one of {', '.join(QUESTION_TYPES)})")
        return None
    return value


def _boolean(ck: _Checker, value: Any, path: str) -> bool | None:
    if not isinstance(value, bool):
        ck.error(path, f"expected true or false, got {_kind(value)}")
        return None
    return value


def _case_thresholds(ck: _Checker, value: Any, path: str, scale: Scale | None,
                     questions: tuple) -> dict[str, int] | None:
    """`cases: {overall_at_most: 2, any_criterion_at_most: 1}`: ratings (scale points) at or below which a
    response opens a case; the overall one reads the likert question coded OVERALL."""
    doc = _mapping(ck, value, path, _CASES_KEYS, ())
    if doc is None:
        return None
    high = scale.points if scale is not None else 1
    found = {key: _integer(ck, doc[key], _key(path, key), 1, high) for key in _CASES_KEYS if key in doc}
    if "overall_at_most" in doc and not any(
            q is not None and q.code == "OVERALL" and q.type == "likert" for q in questions):
        ck.error(_key(path, "overall_at_most"), "needs a likert question coded OVERALL")
    return {key: number for key, number in found.items() if number is not None}


def _question(ck: _Checker, value: Any, path: str, element: str | None) -> Question | None:
    mark = ck.mark()
    doc = _mapping(ck, value, path, _QUESTION_KEYS, ("code", "type", "text"))
    if doc is None:
        return None
    code = _field(ck, doc, "code", path, _question_code)
    qtype = _field(ck, doc, "type", path, _question_type)
    text = _field(ck, doc, "text", path, _text)
    description = _field(ck, doc, "description", path, _text)
    required = _field(ck, doc, "required", path, _boolean)
    options = _question_options(ck, doc, path, qtype)
    low, high = _question_bounds(ck, doc, path, qtype)
    show_if = _field(ck, doc, "show_if", path, _condition_shape)
    if ck.failed_since(mark):
        return None
    question = Question(
        code=code,
        type=qtype,
        text=text,
        required=bool(required),
        options=options,
        element=element,
        description=description,
        min_value=low,
        max_value=high,
        show_if=show_if,
    )
    ck.parsed_questions.append((path, question))
    return question


def _condition_shape(ck: _Checker, value: Any, path: str) -> Condition | None:
    """`show_if: {question: CODE, <operator>: value}` with exactly one operator; the value is
    judged against the earlier question later (`_check_conditions`)."""
    mark = ck.mark()
    doc = _mapping(ck, value, path, ("question", *CONDITION_OPERATORS), ("question",))
    if doc is None:
        return None
    code = _field(ck, doc, "question", path, _code)
    operators = [key for key in CONDITION_OPERATORS if key in doc]
    if len(operators) != 1:
        found = ", ".join(operators) if operators else "none"
        ck.error(path, f"needs exactly one of {', '.join(CONDITION_OPERATORS)} (found: {found})")
    if ck.failed_since(mark):
        return None
    operator = operators[0]
    raw = doc[operator]
    if operator == "one_of":
        if not isinstance(raw, list) or not raw:
            ck.error(_key(path, operator), f"expected a non-empty list of values, got {_kind(raw)}")
            return None
        for i, item in enumerate(raw):
            if isinstance(item, list | dict) or item is None:
                ck.error(f"{_key(path, operator)}[{i}]", f"expected one value, got {_kind(item)}")
        if ck.failed_since(mark):
            return None
        return Condition(code, operator, tuple(_yes_no_word(item) for item in raw))
    if isinstance(raw, list | dict) or raw is None:
        ck.error(_key(path, operator), f"expected one value, got {_kind(raw)}")
        return None
    return Condition(code, operator, _yes_no_word(raw))


def _yes_no_word(value: Any) -> Any:
    # YAML reads an unquoted yes/no as a boolean; the condition means the answer's word.
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _condition_value_fault(value: Any, question: Question, scale: Scale | None) -> str | None:
    """Why a value cannot be an answer of `question` (None when it can)."""
    if question.type == "yesno":
        return None if value in ("yes", "no") else f"{value!r} is not an answer of yes/no question " \
            f"{question.code} (yes or no)"
    if question.type in OPTION_QUESTION_TYPES:
        allowed = question.option_values()
        return None if isinstance(value, str) and value in allowed else \
            f"{value!r} is not an option of {question.code} ({', '.join(allowed)})"
    if question.type in ("likert", "nps"):
        low, high = (1, scale.points if scale else None) if question.type == "likert" else (0, 10)
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low and (
            high is None or value <= high)
        return None if ok else f"{value!r} is not a rating of {question.code} " \
            f"(an integer from {low} to {high if high is not None else 'the scale points'})"
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return None if ok else f"{value!r} is not a number"


def _check_conditions(ck: _Checker, scale: Scale | None) -> None:
    """Each `show_if` reads an EARLIER question (elements' questions first, then the others) with an
    operator that fits its type and values it can have."""
    earlier: dict[str, Question] = {}
    for path, question in ck.parsed_questions:
        condition = question.show_if
        if condition is not None:
            where = _key(_key(path, "show_if"), "question")
            referent = earlier.get(condition.question)
            if referent is None:
                if condition.question == question.code:
                    ck.error(where, "a question cannot depend on itself")
                elif condition.question in ck.question_codes and condition.question not in {
                        q.code for _, q in ck.parsed_questions}:
                    pass  # that question has its own errors, reported there
                elif condition.question in ck.question_codes:
                    ck.error(where, f"{condition.question!r} comes later; a condition can only read "
                                    "an earlier question")
                else:
                    ck.error(where, f"unknown question {condition.question!r}")
            else:
                _check_condition_value(ck, _key(path, "show_if"), condition, referent, scale)
        earlier[question.code] = question


def _check_condition_value(ck: _Checker, path: str, condition: Condition, referent: Question,
                           scale: Scale | None) -> None:
    operator_path = _key(path, condition.operator)
    fits = _CONDITION_TYPES[condition.operator]
    if referent.type not in fits:
        ck.error(operator_path, f"cannot be used with {referent.type} question {referent.code} "
                                f"(only {', '.join(fits)})")
        return
    values = condition.value if condition.operator == "one_of" else (condition.value,)
    for i, value in enumerate(values):
        fault = _condition_value_fault(value, referent, scale)
        if fault is not None:
            ck.error(f"{operator_path}[{i}]" if condition.operator == "one_of" else operator_path, fault)
    if len(set(values)) != len(values):
        ck.error(operator_path, "a value is listed twice")


def _question_options(
    ck: _Checker, doc: dict[str, Any], path: str, qtype: str | None
) -> tuple[Option, ...]:
    """Options are required for single/multi questions and forbidden for the others."""
    options_path = _key(path, "options")
    if qtype in OPTION_QUESTION_TYPES and "options" not in doc:
        ck.error(options_path, f"missing required key ({qtype} questions need options)")
    elif qtype is not None and qtype not in OPTION_QUESTION_TYPES and "options" in doc:
        ck.error(options_path, f"not allowed for {qtype} questions (only single and multi)")
        return ()
    if "options" not in doc:
        return ()
    items = _list(ck, doc["options"], options_path, "options")
    seen: dict[str, str] = {}
    parsed = (_option(ck, item, f"{options_path}[{i}]", seen) for i, item in enumerate(items or []))
    return tuple(option for option in parsed if option is not None)


def _option(ck: _Checker, value: Any, path: str, seen: dict[str, str]) -> Option | None:
    mark = ck.mark()
    doc = _mapping(ck, value, path, _OPTION_KEYS, _OPTION_KEYS)
    if doc is None:
        return None
    option_value = _field(ck, doc, "value", path, _code, _OPTION_VALUE)
    if option_value is not None:
        _claim(ck, seen, option_value, _key(path, "value"), "option")
    label = _field(ck, doc, "label", path, _text)
    if ck.failed_since(mark):
        return None
    return Option(value=option_value, label=label)


def _question_bounds(
    ck: _Checker, doc: dict[str, Any], path: str, qtype: str | None
) -> tuple[int | float | None, int | float | None]:
    """`min`/`max` bound the answers of number questions and mean nothing elsewhere."""
    if qtype is not None and qtype != "number":
        for key in ("min", "max"):
            if key in doc:
                ck.error(_key(path, key), f"not allowed for {qtype} questions (only number)")
        return None, None
    low = _field(ck, doc, "min", path, _number)
    high = _field(ck, doc, "max", path, _number)
    if low is not None and high is not None and low > high:
        ck.error(_key(path, "max"), f"must be >= min ({low}), got {high}")
    return low, high


def _questions(
    ck: _Checker, items: Iterable[Any], path: str, element: str | None
) -> tuple[Question, ...]:
    parsed = (_question(ck, item, f"{path}[{i}]", element) for i, item in enumerate(items))
    return tuple(q for q in parsed if q is not None)


# --------------------------------------------------------------------- elements


def _weight(ck: _Checker, value: Any, path: str) -> float | None:
    number = _number(ck, value, path)
    if number is not None and number <= 0:
        ck.error(path, f"must be > 0, got {number}")
        return None
    return None if number is None else float(number)


def _element(ck: _Checker, value: Any, path: str) -> Element | None:
    mark = ck.mark()
    doc = _mapping(ck, value, path, _ELEMENT_KEYS, ("code", "title", "questions"))
    if doc is None:
        return None
    code = _field(ck, doc, "code", path, _code)
    if code is not None:
        _claim(ck, ck.element_codes, code, _key(path, "code"), "element")
    title = _field(ck, doc, "title", path, _text)
    weight = _field(ck, doc, "weight", path, _weight) if "weight" in doc else 1.0
    questions_path = _key(path, "questions")
    items = _field(ck, doc, "questions", path, _list, "questions") or []
    questions = _questions(ck, items, questions_path, code)
    types = [_raw_type(item) for item in items]
    # Judged only when every type is known, so a typo is not reported twice.
    if types and all(t in QUESTION_TYPES for t in types) and "likert" not in types:
        ck.error(
            questions_path,
            "has no likert question (an element's likert questions are its index criteria)",
        )
    if ck.failed_since(mark):
        return None
    return Element(code=code, title=title, weight=weight, questions=questions)


def _raw_type(item: Any) -> Any:
    return item.get("type") if isinstance(item, dict) else None


# -------------------------------------------------------------------- document


def _document_scale(ck: _Checker, doc: dict[str, Any]) -> Scale | None:
    """The scale is required as soon as any question (inside elements or not) is likert."""
    raw_questions = list(_raw_questions(doc))
    if "scale" in doc:
        return _scale(ck, doc["scale"], "scale")
    if any(_raw_type(item) == "likert" for item in raw_questions):
        ck.error("scale", "missing required key (the file has likert questions)")
    return None


def _raw_questions(doc: dict[str, Any]) -> Iterable[Any]:
    elements = doc.get("elements")
    for element in elements if isinstance(elements, list) else []:
        questions = element.get("questions") if isinstance(element, dict) else None
        yield from questions if isinstance(questions, list) else []
    questions = doc.get("questions")
    yield from questions if isinstance(questions, list) else []


def _outside_questions(ck: _Checker, doc: dict[str, Any]) -> tuple[Question, ...]:
    if "questions" not in doc:
        return ()
    items = doc["questions"]
    if not isinstance(items, list):
        ck.error("questions", f"expected a list of questions, got {_kind(items)}")
        return ()
    return _questions(ck, items, "questions", None)


def parse_questionnaire(data: Any, source: str = "<data>") -> Questionnaire:
    """Validate a decoded questionnaire document; raise QuestionnaireError listing every fault."""
    ck = _Checker(source)
    doc = _mapping(ck, data, "", _TOP_KEYS, ("code", "version", "title", "languages", "elements"))
    if doc is None:
        raise QuestionnaireError(ck.errors)
    # Languages first: every text map below is checked against them.
    ck.languages = _field(ck, doc, "languages", "", _languages)
    code = _field(ck, doc, "code", "", _code, _QUESTIONNAIRE_CODE)
    version = _field(ck, doc, "version", "", _integer, 1, None)
    title = _field(ck, doc, "title", "", _text)
    description = _field(ck, doc, "description", "", _text)
    scale = _document_scale(ck, doc)
    element_items = _field(ck, doc, "elements", "", _list, "elements") or []
    elements = tuple(_element(ck, item, f"elements[{i}]") for i, item in enumerate(element_items))
    questions = _outside_questions(ck, doc)
    quick_rating = _field(ck, doc, "quick_rating", "", _boolean)
    if quick_rating and not any(q.code == QUICK_RATING_CODE and q.type == "likert"
                                for q in (*questions, *(q for e in elements if e for q in e.questions))
                                if q is not None):
        ck.error("quick_rating", f"needs a likert question coded {QUICK_RATING_CODE} (the overall item)")
    cases = _field(ck, doc, "cases", "", _case_thresholds, scale, (*questions, *(
        q for e in elements if e for q in e.questions)))
    _check_conditions(ck, scale)
    if ck.errors:
        raise QuestionnaireError(ck.errors)
    questionnaire = Questionnaire(
        code=code,
        version=version,
        title=title,
        languages=ck.languages,
        scale=scale,
        elements=elements,
        questions=questions,
        description=description,
        quick_rating=quick_rating,
        cases=cases,
    )
    return replace(questionnaire, definition=_definition(questionnaire))


# ------------------------------------------------------------------ definition


def _question_definition(q: Question) -> dict[str, Any]:
    result: dict[str, Any] = {"code": q.code, "type": q.type, "text": dict(q.text)}
    if q.description is not None:
        result["description"] = dict(q.description)
    result["required"] = q.required
    if q.type in OPTION_QUESTION_TYPES:
        result["options"] = [{"value": o.value, "label": dict(o.label)} for o in q.options]
    if q.min_value is not None:
        result["min"] = q.min_value
    if q.max_value is not None:
        result["max"] = q.max_value
    if q.show_if is not None:  # only when set, so definitions without skip logic stay as they were
        result["show_if"] = q.show_if.definition()
    return result


def _definition(qn: Questionnaire) -> dict[str, Any]:
    """Normalised form of the file, defaults filled in: what the app stores."""
    result: dict[str, Any] = {"code": qn.code, "version": qn.version, "title": dict(qn.title)}
    if qn.description is not None:
        result["description"] = dict(qn.description)
    result["languages"] = list(qn.languages)
    result["scale"] = {
        "points": qn.scale.points,
        "labels": {lang: list(labels) for lang, labels in qn.scale.labels.items()},
        "satisfied": sorted(qn.scale.satisfied),
    }
    result["elements"] = [
        {
            "code": e.code,
            "title": dict(e.title),
            "weight": e.weight,
            "questions": [_question_definition(q) for q in e.questions],
        }
        for e in qn.elements
    ]
    result["questions"] = [_question_definition(q) for q in qn.questions]
    if qn.quick_rating is not None:  # only when set, so older definitions stay as they were
        result["quick_rating"] = qn.quick_rating
    if qn.cases is not None:
        result["cases"] = dict(qn.cases)
    return result


# ------------------------------------------------------------------------- files


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that rejects duplicate keys, which PyYAML would silently overwrite.

    Built on libyaml's parser when PyYAML has it: five times faster, which the
    command line notices (0.02 s of a one-second run).
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _decode(text: str, path: Path) -> Any:
    if path.suffix.lower() == ".json":
        return json.loads(text, object_pairs_hook=_json_pairs)
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Load and validate a YAML or JSON questionnaire file (JSON when it ends in .json)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionnaireError([f"{source}: (top): cannot read file: {exc}"]) from exc
    try:
        data = _decode(text, path)
    except (yaml.YAMLError, ValueError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        detail = " ".join(str(exc).split())
        raise QuestionnaireError([f"{source}: (top): invalid {kind}: {detail}"]) from exc
    return parse_questionnaire(data, source)
