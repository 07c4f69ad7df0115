"""Totals files for the national roll-up (issue 20; docs/FORMATS.md §7): this installation's per-cell sums
of a questionnaire over a period, read from the responses with one GROUP BY and written as a signed
Parquet file, and the Ed25519 key that signs them. The citizens' answers never leave; only these sums do.
In a national installation (INSTALLATION_LEVEL = "national"): the units' public keys, the import of their
signed files, and the national ranking rolled up from them.
"""

from app.services import lazy_exports

# name -> the module of this package that defines it (None: the module itself)
__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "TotalsExport": "export",
        "TotalsExportError": "export",
        "TotalsRequest": "export",
        "export_totals": "export",
        "totals_table": "export",
        "ImportOutcome": "national",
        "NationalRanking": "ranking",
        "TotalsImportRefused": "national",
        "active_imports": "national",
        "import_totals": "national",
        "is_national": "national",
        "national_imports": "national",
        "national_charts": "ranking",
        "national_ranking": "ranking",
        "national_units": "national",
        "period_records": "ranking",
        "trust_unit_key": "national",
        "unit_key_fingerprints": "national",
        "public_key_pem": "keys",
        "signing_key_pem": "keys",
    },
)
