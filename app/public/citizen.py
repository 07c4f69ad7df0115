"""What the form page adds for a citizen on a phone (issue 16): the quick rating, the error summary,
one question per screen, and the mark for help from staff."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _

from app.services.collect import quick_rating_on
from app.web.survey_form import QuestionView, Section

# Long forms get a progress bar and, with JavaScript, one question per screen.
PROGRESS_FROM = 8
# The posted field of the "an officer helped me fill this in" choice.
ASSISTED = "assisted"


def _face(value: str, points: int) -> int:
    """Which of the five faces (1 very unhappy .. 5 very happy) draws a scale point."""
    return 1 + round((int(value) - 1) * 4 / max(points - 1, 1))


def _error_list(sections: list[Section], errors: dict[str, str]) -> list[tuple[str, str, str]]:
    """(anchor, question, message) for each error, in the order of the page."""
    found = []
    if "service" in errors:
        found.append(("service", _("Which service did you use?"),
                      _("Please choose a service from the list.")))
    for section in sections:
        for q in section.questions:
            if q.code in errors:
                found.append((f"q-{q.code}", f"{q.number}. {q.text}", errors[q.code]))
    # The "I want an answer" block comes last on the page (issue 18).
    for field, anchor, label in (("answer_phone", "answer-phone", _("Phone (optional)")),
                                 ("answer_email", "answer-email", _("E-mail (optional)"))):
        if field in errors:
            found.append((anchor, label, errors[field]))
    return found


def form_extras(context, sections: list[Section], errors: dict[str, str], values: dict) -> dict:
    """The template's extra variables: quick question and faces, the rest of the sections, stepping,
    the error summary and the help-from-staff choice."""
    questionnaire = context.questionnaire
    total = sum(len(s.questions) for s in sections)
    quick: QuestionView | None = None
    if quick_rating_on(questionnaire, context.channel):
        quick = next(q for s in sections for q in s.questions if q.code == "OVERALL")
        sections = [Section(s.title, tuple(q for q in s.questions if q is not quick)) for s in sections]
        sections = [s for s in sections if s.questions]
    rest = {q.code for s in sections for q in s.questions}
    posted = request.method == "POST"
    open_more = posted and (any(code in rest or code == "service" for code in errors) or any(
        v and v != [""] for field, v in values.items() if field[2:] in rest))
    return {
        "quick": quick,
        "faces": [(value, label, _face(value, questionnaire.scale.points)) for value, label in quick.choices]
        if quick else [],
        "sections": sections,
        "more_count": sum(len(s.questions) for s in sections),
        "open_more": open_more,
        "stepped": total >= PROGRESS_FROM,
        "error_list": _error_list(sections if quick is None else [Section("", (quick,)), *sections], errors),
        "assisted": request.form.get(ASSISTED) == "1" if posted else False,
    }
