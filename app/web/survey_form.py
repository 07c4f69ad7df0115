"""The survey form as the templates draw it: sections of questions with their choices, in one language."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import request
from flask_babel import gettext as _

from analysis.questionnaire import Condition, Question, Questionnaire

# Question fields carry a prefix a question code can never have, so no code
# collides with csrf_token, nonce, version_id or the honeypot.
FIELD_PREFIX = "q-"
HONEYPOT = "website"


@dataclass(frozen=True)
class QuestionView:
    """One question ready to draw: a fieldset with a legend and its choices."""

    number: int
    code: str
    type: str
    text: str
    required: bool
    choices: tuple[tuple[str, str], ...]
    min_value: float | None = None
    max_value: float | None = None
    # Skip logic: "Answer only if ..." in the citizen's language, and the rule survey.js applies.
    condition_note: str = ""
    condition_rule: str = ""

    @property
    def field(self) -> str:
        """The form field name."""
        return FIELD_PREFIX + self.code


@dataclass(frozen=True)
class Section:
    """A titled group of questions (a SIPAS element, or the general questions)."""

    title: str
    questions: tuple[QuestionView, ...]


def _text(texts: dict[str, str] | None, lang: str, default: str) -> str:
    if not texts:
        return ""
    return texts.get(lang) or texts.get(default) or next(iter(texts.values()))


def _choices(question: Question, questionnaire: Questionnaire, lang: str) -> tuple[tuple[str, str], ...]:
    default = questionnaire.default_language
    if question.type == "likert":
        scale = questionnaire.scale
        labels = scale.labels.get(lang) or scale.labels.get(default) or ()
        return tuple((str(i), labels[i - 1] if i <= len(labels) else str(i))
                     for i in range(1, scale.points + 1))
    if question.type == "yesno":
        return (("yes", _("Yes")), ("no", _("No")))
    if question.type == "nps":
        ends = {0: _("not at all likely"), 10: _("extremely likely")}
        return tuple((str(i), ends.get(i, "")) for i in range(11))
    return tuple((o.value, _text(o.label, lang, default)) for o in question.options)


def _answer_words(question: Question, value, questionnaire: Questionnaire, lang: str) -> str:
    words = dict(_choices(question, questionnaire, lang))
    label = words.get(str(value), "")
    if question.type in ("likert", "nps", "number"):
        return f"{value} ({label})" if label else str(value)
    return f"“{label or value}”"


def _condition_note(condition: Condition, number: int, questionnaire: Questionnaire, lang: str) -> str:
    """ "Answer only if ..." for a form drawn without JavaScript (which shows every question)."""
    earlier = questionnaire.question(condition.question)
    if earlier.type == "multi":  # ticked boxes: any of the wanted options
        values = condition.value if condition.operator == "one_of" else (condition.value,)
        answers = ", ".join(_answer_words(earlier, v, questionnaire, lang) for v in values)
        return _("Answer only if you chose %(answers)s in question %(n)d.", n=number, answers=answers)
    if condition.operator == "one_of":
        answers = ", ".join(_answer_words(earlier, v, questionnaire, lang) for v in condition.value)
        return _("Answer only if your answer to question %(n)d was one of: %(answers)s.", n=number,
                 answers=answers)
    answer = _answer_words(earlier, condition.value, questionnaire, lang)
    if condition.operator == "at_most":
        return _("Answer only if your answer to question %(n)d was %(answer)s or less.",
                 n=number, answer=answer)
    if condition.operator == "at_least":
        return _("Answer only if your answer to question %(n)d was %(answer)s or more.",
                 n=number, answer=answer)
    return _("Answer only if your answer to question %(n)d was %(answer)s.", n=number, answer=answer)


def _condition_rule(condition: Condition) -> str:
    """The rule as survey.js reads it: the earlier question's field, the operator, the values."""
    values = condition.value if condition.operator == "one_of" else (condition.value,)
    return json.dumps({"field": FIELD_PREFIX + condition.question, "op": condition.operator,
                       "values": [str(v) if isinstance(v, str) else v for v in values]})


def survey_sections(questionnaire: Questionnaire, lang: str) -> list[Section]:
    """The questionnaire's elements, then its other questions, numbered in order."""
    groups = [(_text(e.title, lang, questionnaire.default_language), e.questions)
              for e in questionnaire.elements]
    if questionnaire.questions:
        groups.append((_("General questions"), questionnaire.questions))
    sections, number, numbers = [], 0, {}
    for title, questions in groups:
        views = []
        for question in questions:
            number += 1
            numbers[question.code] = number
            condition = question.show_if
            views.append(QuestionView(
                number, question.code, question.type,
                _text(question.text, lang, questionnaire.default_language),
                question.required, _choices(question, questionnaire, lang),
                question.min_value, question.max_value,
                (_condition_note(condition, numbers[condition.question], questionnaire, lang)
                 if condition else ""),
                _condition_rule(condition) if condition else "",
            ))
        sections.append(Section(title, tuple(views)))
    return sections


def read_answers(questionnaire: Questionnaire) -> dict[str, list[str]]:
    """The posted values of every question, keyed by question code."""
    return {q.code: request.form.getlist(FIELD_PREFIX + q.code) for q in questionnaire.all_questions()}


def error_message(code: str, question: QuestionView | None = None) -> str:
    """Words for an answer error code, in the citizen's language."""
    if code == "required":
        return _("Please answer this question.")
    if code == "too_long":
        return _("This answer is too long; please shorten it.")
    # The "I want an answer" block's contact fields (issue 18, app/public/cases.py).
    if code == "phone":
        return _("This phone number cannot be used. Write it with its digits only, e.g. 0912345678 or "
                 "+84912345678, or leave it empty.")
    if code == "email":
        return _("This e-mail address cannot be used. Please check it (for example name@example.com), or "
                 "leave it empty.")
    if question is not None and question.type == "number":
        return _("Please enter a number in the allowed range.")
    return _("Please choose one of the answers shown.")
