"""Dossier lists of the one-stop system (issue 19): the import of its export (CSV or XLSX, all or
nothing, re-imports update), the contacts kept apart and purged, the timeliness figures per agency
and month, and the monthly volumes that follow from the list (they feed response rates and
post-stratification).

Blueprints and commands import from this package only; the modules below are its own."""

from app.services import lazy_exports

# name -> the module of this package that defines it (None: the module itself)
__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "COLUMNS": "lists",
        "demo_dossier_list": "demo",
        "REQUIRED_COLUMNS": "lists",
        "import_dossiers": "lists",
        "list_dossiers": "contacts",
        "dossier_counts": "contacts",
        "purge_campaign_contacts": "contacts",
        "purge_contacts_before": "contacts",
        "derived_months": "volumes",
        "derived_pairs": "volumes",
        "recompute_volumes": "volumes",
        "Timeliness": "timeliness",
        "timeliness_by_month": "timeliness",
        "timeliness_by_agency_month": "timeliness",
        "timeliness_total": "timeliness",
        "timeliness_table": "timeliness",
        "TimelinessTable": "timeliness",
    },
)
