"""Questionnaire files and their immutable published versions (rating slots, the standard SIPAS set in
`surveys/`), and the designer that drafts and publishes new ones in the browser.

Blueprints and commands import from this package only; the modules below are its own."""

from app.services import lazy_exports

# name -> the module of this package that defines it (None: the module itself)
__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "designer": None,
        "designer_form": None,
        "xlsform": None,
        "publish_questionnaire": "versions",
        "questionnaire_of": "versions",
        "QuestionnaireConflict": "versions",
        "validate_file": "versions",
    },
)
