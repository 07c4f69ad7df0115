"""Use cases of the platform, one package per domain; no HTTP here, shared by views, API and CLI.

- `collect`: the citizen path (a counter as the form sees it, a response stored, receipts, abuse flags)
- `registry`: agencies, counters, services, scope, volumes and coverage, QR posters
- `questionnaires`: questionnaire files, published versions, the designer
- `reports`: report cells, estimates, the pages' data, charts, comments, exports, the API's data
- `accounts`: users, roles, tokens, the audit log
- `exchange`: the responses CSV in and out, paper entry, the demo province
- `cases`: cases a citizen follows by code, the handlers' inbox, the notifications' outbox
- `totals`: the signed totals files (per-cell sums) an installation sends to the national roll-up

Blueprints import the names a package exports (its `__all__`), never its modules' insides.
"""

from importlib import import_module


def lazy_exports(package: str, exports: dict[str, str | None]):
    """A package's `__getattr__` and `__all__` that load each exported name from its module on first use.

    Lazy because the domains call each other (a response updates report cells, an import checks
    scope, ...): importing every module when a package is first touched would make import cycles.
    """

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = exports[name]
        value = import_module(f"{package}.{name}" if module is None else f"{package}.{module}")
        return value if module is None else getattr(value, name)

    return __getattr__, sorted(exports)
