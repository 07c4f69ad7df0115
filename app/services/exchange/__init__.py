"""Responses in and out: the responses CSV (FORMATS.md section 2) import and export, paper entry and
uploads by administrators, and the demo province.

Blueprints and commands import from this package only; the modules below are its own."""

from app.services import lazy_exports

# name -> the module of this package that defines it (None: the module itself)
__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "demo": None,
        "DESIGN_COLUMNS": "responses_csv",
        "export_rows": "responses_csv",
        "ExportError": "responses_csv",
        "ExportFilter": "responses_csv",
        "import_responses": "responses_csv",
        "import_responses_for": "paper",
        "ImportReport": "responses_csv",
        "new_nonce": "paper",
        "parse_interview": "paper",
        "Interview": "paper",
        "Problem": "problems",
        "review": None,
        "statfiles": None,
        "problem_of": "problems",
        "translated": "problems",
        "submit_paper": "paper",
        "write_csv": "responses_csv",
    },
)
