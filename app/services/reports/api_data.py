"""The read API's indices: FORMATS.md §4 records of a scope, its units or its months."""

from __future__ import annotations

from app.services.reports import estimates as rs
from app.services.reports import pages
from app.services.reports.aggregates import current_month

BY_CHOICES = ("", "agency", "month")


def _records_by(records: list[dict], key: str, label) -> list[dict]:
    return [dict(r, by={key: label(r)}) for r in records]


def api_indices(root: int, filters: rs.ReportFilters, by: str) -> dict:
    """{"results": [...], "meta": {...}}: the scope's indices, or one set per unit or per month."""
    if by == "agency":
        data = pages.build_ranking(root, filters, "vi")
        scope = data.scope
        results = [_unit_record(row, r) for row in data.rows for r in row["records"].values()]
    else:
        overview = pages.build_overview(root, filters)
        scope = overview.scope
        if by == "month":
            results = [{k: v for k, v in dict(p, by={"month": p["month"]}).items()
                        if k not in ("month", "version", "break")} for p in overview.trend]
        else:
            code = scope.tree.code[root]
            results = [dict(r, by={"agency": code}, change=_change(overview.change.get(r["code"])))
                       for r in overview.records]
    meta = {
        "questionnaire": filters.questionnaire,
        "questionnaire_version": scope.design.version if scope.design else None,
        "ci_level": 0.95,
        "ci_method": "logit",
        "agency": scope.tree.code[root],
        "period": {"start": scope.start, "end": scope.end, "incomplete": scope.end >= current_month()},
        "weighting": filters.weighting,
        "measure": filters.measure,
        "filters": filters.as_args(),
        "rules": rs.RULES.as_dict(),
    }
    return {"results": results, "meta": meta}


def _change(diff: dict | None) -> dict | None:
    """The change since the previous period with its interval, p-value and significance (5 % level)."""
    if not diff or diff["estimate"] is None:
        return None
    return {"estimate": diff["estimate"], "ci_low": diff["ci_low"], "ci_high": diff["ci_high"],
            "p": diff["p"], "significant": rs.significance(diff) != "same"}


def _unit_record(row: dict, record: dict) -> dict:
    """A unit's record with its change; the ranked statistic's record also carries the rank."""
    out = dict(record, by={"agency": row["code"]}, change=_change(row["changes"].get(record["code"])))
    if record["code"] == row["record"]["code"]:
        out["rank"] = {"rank": row["rank"], "low": row["rank_low"], "high": row["rank_high"],
                       "previous": row["previous_rank"], "change": row["rank_change"]}
    return out


def agency_id_for_code(tree: rs.AgencyTree, code: str) -> int | None:
    """The id of an agency code, None when unknown."""
    return next((a for a, c in tree.code.items() if c == code), None)
