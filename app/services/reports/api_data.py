"""The read API's indices: FORMATS.md §4 records of a scope, its units or its months."""

from __future__ import annotations

from app.services.reports import estimates as rs
from app.services.reports import pages

BY_CHOICES = ("", "agency", "month")


def _records_by(records: list[dict], key: str, label) -> list[dict]:
    return [dict(r, by={key: label(r)}) for r in records]


def api_indices(root: int, filters: rs.ReportFilters, by: str) -> dict:
    """{"results": [...], "meta": {...}}: the scope's indices, or one set per unit or per month."""
    if by == "agency":
        data = pages.build_ranking(root, filters, "vi")
        scope = data.scope
        results = [dict(r, by={"agency": row["code"]}) for row in data.rows for r in row["records"].values()]
    else:
        overview = pages.build_overview(root, filters)
        scope = overview.scope
        if by == "month":
            results = [{k: v for k, v in dict(p, by={"month": p["month"]}).items()
                        if k not in ("month", "version", "break")} for p in overview.trend]
        else:
            results = [dict(r, by={"agency": scope.tree.code[root]}) for r in overview.records]
    meta = {
        "questionnaire": filters.questionnaire,
        "questionnaire_version": scope.design.version if scope.design else None,
        "ci_level": 0.95,
        "ci_method": "logit",
        "agency": scope.tree.code[root],
        "period": {"start": scope.start, "end": scope.end},
        "weighting": filters.weighting,
        "measure": filters.measure,
        "filters": filters.as_args(),
        "rules": rs.RULES.as_dict(),
    }
    return {"results": results, "meta": meta}


def agency_id_for_code(tree: rs.AgencyTree, code: str) -> int | None:
    """The id of an agency code, None when unknown."""
    return next((a for a, c in tree.code.items() if c == code), None)
