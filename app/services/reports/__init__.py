"""What leaders read: the report cells kept up to date by each response, the design-based estimates,
the pages' data (overview, ranking, trend, comments, scoreboard), charts, exports and the API's data.

Blueprints and commands import from this package only; the modules below are its own."""

from app.services import lazy_exports

# name -> the module of this package that defines it (None: the module itself)
__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "agency_id_for_code": "api_data",
        "api_indices": "api_data",
        "BY_CHOICES": "api_data",
        "charts": None,
        "comments_page": "comments",
        "current_month": "aggregates",
        "estimates": None,
        "exports": None,
        "page_context": "context",
        "pages": None,
        "pdf": None,
        "questions": None,
        "public_scoreboard": "pages",
    },
)
