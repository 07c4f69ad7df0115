"""Who serves whom: agencies, counters (their QR tokens and posters), the services they offer, which
agencies a user may see (scope), monthly dossier volumes and the response coverage they give, and the
database health check.

Blueprints and commands import from this package only; the modules below are its own."""

from app.services import lazy_exports

# name -> the module of this package that defines it (None: the module itself)
__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "agencies": None,
        "agency_choices": "choices",
        "agency_coverage": "coverage",
        "agency_tree": "org",
        "check_database": "health",
        "COLUMNS": "volumes",
        "counter_url": "org",
        "counters_on_air": "org",
        "kiosk_url": "org",
        "grace_until": "qr",
        "import_volumes_csv": "volumes",
        "import_volumes_json": "volumes",
        "volume_grid": "volumes",
        "subtree_ids": "scope",
        "save_volume_grid": "volumes",
        "export_volumes_rows": "volumes",
        "in_scope": "scope",
        "list_counters": "agencies",
        "list_volumes": "volumes",
        "may": "scope",
        "public_base_url": "org",
        "qr_png": "qr",
        "qr_svg": "qr",
        "revoke_token": "qr",
        "rotate_token": "qr",
        "short_address": "qr",
    },
)
