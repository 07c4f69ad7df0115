"""The quick rating (issue 16): a form may open with the overall question alone, answered in one tap.

A questionnaire version sets it with the optional `quick_rating` key; without the key it is on for
the kiosk and for short forms (fewer than SHORT_FORM questions), whenever the version has a likert
question coded OVERALL. A response that answers the overall question of such a form is complete:
the other required questions are then optional.
"""

from __future__ import annotations

from analysis.questionnaire import QUICK_RATING_CODE, Question, Questionnaire

# Forms with fewer questions than this are short: one or two screens, and the quick rating by default.
SHORT_FORM = 8


def quick_question(questionnaire: Questionnaire) -> Question | None:
    """The overall likert question a quick rating asks, or None when the version has none."""
    for question in questionnaire.all_questions():
        if question.code == QUICK_RATING_CODE and question.type == "likert":
            return question
    return None


def quick_rating_on(questionnaire: Questionnaire, channel: str) -> bool:
    """Whether the form opens with the quick rating, for this channel ('qr' or 'kiosk')."""
    if quick_question(questionnaire) is None:
        return False
    if questionnaire.quick_rating is not None:
        return questionnaire.quick_rating
    return channel == "kiosk" or len(questionnaire.all_questions()) < SHORT_FORM


def waived_requirements(questionnaire: Questionnaire, channel: str, raw: dict[str, list[str]]) -> bool:
    """Whether the other required questions may stay blank: a quick rating whose overall item is answered."""
    return quick_rating_on(questionnaire, channel) and any(
        value.strip() for value in raw.get(QUICK_RATING_CODE, []))
