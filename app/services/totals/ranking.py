"""The national ranking from the active imported totals files (issue 20): per unit the index with its
interval, its rank and rank interval, its elements and criteria, and the trend over the periods imported.

The numbers are analysis.rollup's (`python -m analysis rollup FILES --by unit` gives the same records).
The units' strata are disjoint (each file's strata carry its unit's prefix), so their estimates are
independent and the rank intervals are drawn from N(estimate, diag(se²)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from analysis.compare import rank_intervals
from analysis.rollup import rollup_files
from analysis.totals_file import read_totals
from app.models import Agency, TotalsImport
from app.services.reports.estimates import RANK_DRAWS, RANK_SEED
from app.services.totals.national import active_imports

OVERALL = "OVERALL"


@dataclass(frozen=True)
class PeriodChoice:
    """One questionnaire's period with files from some units."""

    key: str
    code: str
    version: int
    period_from: str
    period_to: str
    units: int


@dataclass
class UnitRow:
    """One unit's figures for the period (records as analysis gives them: proportions 0..1)."""

    code: str
    name: str
    overall: dict
    level: str = ""  # the agency level's code (province, ministry); the pages say it in words
    rank: int | None = None
    rank_low: int | None = None
    rank_high: int | None = None
    elements: dict[str, dict] = field(default_factory=dict)
    criteria: dict[str, dict] = field(default_factory=dict)
    responses: int = 0


@dataclass
class NationalRanking:
    """The ranking of one period, the periods there are, and the trend of the same questionnaire."""

    periods: list[PeriodChoice]
    period: PeriodChoice | None = None
    rows: list[UnitRow] = field(default_factory=list)
    nation: dict = field(default_factory=dict)
    nation_elements: dict[str, dict] = field(default_factory=dict)
    elements: list[tuple[str, str]] = field(default_factory=list)
    criteria: list[tuple[str, str, str]] = field(default_factory=list)
    trend: list[dict] = field(default_factory=list)
    trend_units: list[tuple[str, str]] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)


def _key(row: TotalsImport) -> str:
    return f"{row.questionnaire_code}:{row.period_from}:{row.period_to}"


def _groups(rows: list[TotalsImport]) -> dict[str, list[TotalsImport]]:
    groups: dict[str, list[TotalsImport]] = {}
    for row in rows:
        groups.setdefault(_key(row), []).append(row)
    return groups


def period_records(rows: list[TotalsImport]) -> list[dict]:
    """analysis.rollup's records (by unit, then the nation) of one period's files."""
    ordered = sorted(rows, key=lambda r: r.agency.code)
    return _rolled_up(tuple(row.file_sha256 for row in ordered), tuple(row.id for row in ordered))[0]


# The records depend on the files' bytes only: kept per set of files (by their SHA-256), so a page
# reads and rolls up 63 files once per worker, not on every view; a new or replaced file is a new key.
_ROLLED_UP: dict[tuple[str, ...], tuple[list[dict], dict]] = {}
_ROLLED_UP_MAX = 16


def _rolled_up(hashes: tuple[str, ...], ids: tuple[int, ...]) -> tuple[list[dict], dict]:
    """(records, the questionnaire's definition) of the files with these hashes (ids to load them)."""
    if hashes in _ROLLED_UP:
        return _ROLLED_UP[hashes]
    from app.extensions import db

    rows = {row.id: row for row in db.session.scalars(select(TotalsImport).where(TotalsImport.id.in_(ids)))}
    files = [read_totals(f"{rows[i].agency.code}-{rows[i].period_from}-{rows[i].period_to}.parquet",
                         rows[i].data) for i in ids]
    records, _meta = rollup_files(files, by=["unit"])
    if len(_ROLLED_UP) >= _ROLLED_UP_MAX:
        _ROLLED_UP.pop(next(iter(_ROLLED_UP)))
    _ROLLED_UP[hashes] = (records, files[0].meta["questionnaire"]["definition"])
    return _ROLLED_UP[hashes]


def _title(text: dict, lang: str, fallback: str) -> str:
    return (text or {}).get(lang) or (text or {}).get("vi") or (text or {}).get("en") or fallback


def _structure(rows: list[TotalsImport], lang: str) -> tuple[list[tuple[str, str]], list[tuple]]:
    """(element code, title) and (criterion code, element code, text) from the files' questionnaire."""
    ordered = sorted(rows, key=lambda r: r.agency.code)
    definition = _rolled_up(tuple(r.file_sha256 for r in ordered), tuple(r.id for r in ordered))[1]
    elements, criteria = [], []
    for e in definition.get("elements", []):
        elements.append((e["code"], _title(e.get("title"), lang, e["code"])))
        for q in e.get("questions", []):
            if q.get("type") == "likert":
                criteria.append((q["code"], e["code"], _title(q.get("text"), lang, q["code"])))
    return elements, criteria


def _rank(rows: list[UnitRow]) -> None:
    """Rank (1 = highest) and 95% rank interval of the units whose index is reportable."""
    ranked = [r for r in rows if r.overall.get("estimate") is not None and not r.overall.get("flags")]
    if not ranked:
        return
    est = np.array([r.overall["estimate"] for r in ranked], dtype=float)
    se = np.array([r.overall["se"] or 0.0 for r in ranked], dtype=float)
    rng = np.random.default_rng(RANK_SEED)
    order, low, high = rank_intervals(est, np.diag(se ** 2), rng, draws=RANK_DRAWS)
    for i, r in enumerate(ranked):
        r.rank, r.rank_low, r.rank_high = int(order[i]), int(low[i]), int(high[i])


def national_ranking(period_key: str | None, lang: str) -> NationalRanking:
    """The ranking of a period (default: the latest), with the trend of its questionnaire."""
    groups = _groups(active_imports())
    periods = sorted((PeriodChoice(key=k, code=g[0].questionnaire_code, version=g[0].questionnaire_version,
                                   period_from=g[0].period_from, period_to=g[0].period_to, units=len(g))
                      for k, g in groups.items()), key=lambda p: (p.period_to, p.period_from, p.code))
    result = NationalRanking(periods=periods)
    if not periods:
        return result
    chosen = next((p for p in periods if p.key == period_key), periods[-1])
    result.period = chosen
    names = {row.agency.code: row.agency for g in groups.values() for row in g}
    result.records = period_records(groups[chosen.key])
    result.elements, result.criteria = _structure(groups[chosen.key], lang)
    rows: dict[str, UnitRow] = {}
    for rec in result.records:
        unit = rec["by"].get("unit") if rec["scope"] == "group" else None
        if rec["scope"] == "nation":
            if rec["code"] == OVERALL:
                result.nation = rec
            else:
                result.nation_elements[rec["code"]] = rec
            continue
        agency = names.get(unit)
        row = rows.setdefault(unit, UnitRow(code=unit, name=_name(agency, unit, lang), overall={},
                                            level=agency.level if agency is not None else ""))
        if rec["code"] == OVERALL:
            row.overall = rec
        elif rec["level"] == "element":
            row.elements[rec["code"]] = rec
        else:
            row.criteria[rec["code"]] = rec
    for row in groups[chosen.key]:
        if row.agency.code in rows:
            rows[row.agency.code].responses = row.responses
    ordered = list(rows.values())
    _rank(ordered)
    result.rows = sorted(ordered, key=lambda r: (r.rank is None, r.rank or 0, r.code))
    result.trend, result.trend_units = _trend(groups, periods, chosen.code, names, lang)
    return result


def _name(agency: Agency | None, code: str, lang: str) -> str:
    return agency.name(lang) if agency is not None else code


def _trend(groups, periods, code, names, lang) -> tuple[list[dict], list[tuple[str, str]]]:
    """Per period of the questionnaire: the nation's index and each unit's (when several periods)."""
    mine = [p for p in periods if p.code == code]
    if len(mine) < 2:
        return [], []
    points, units = [], set()
    for p in sorted(mine, key=lambda p: (p.period_from, p.period_to)):
        point = {"period": p, "nation": None, "units": {}}
        for rec in period_records(groups[p.key]):
            if rec["code"] != OVERALL:
                continue
            if rec["scope"] == "nation":
                point["nation"] = rec
            else:
                point["units"][rec["by"]["unit"]] = rec
                units.add(rec["by"]["unit"])
        points.append(point)
    return points, [(u, _name(names.get(u), u, lang)) for u in sorted(units)]


def _pct(record: dict | None, name: str) -> float | None:
    value = (record or {}).get(name)
    return None if value is None else float(value)


def national_charts(ranking: NationalRanking, title_ranking: str, title_trend: str) -> dict:
    """Server-side SVG (the page and the PDF draw the same): units with their 95% intervals, and the
    nation's index per period when several periods were imported."""
    from app.services.reports import svg

    items = [{"label": f"{r.rank or '—'}. {r.name}", "estimate": _pct(r.overall, "estimate"),
              "ci_low": _pct(r.overall, "ci_low"), "ci_high": _pct(r.overall, "ci_high"),
              "small": r.rank is None, "tone": None} for r in ranking.rows]
    charts = {"ranking": svg.bar_chart(items, title_ranking, label_chars=30) if items else None,
              "trend": None}
    if ranking.trend:
        points = [{"label": f"{p['period'].period_from}–{p['period'].period_to}",
                   "estimate": _pct(p["nation"], "estimate"), "ci_low": _pct(p["nation"], "ci_low"),
                   "ci_high": _pct(p["nation"], "ci_high"), "small": False} for p in ranking.trend]
        charts["trend"] = svg.line_chart(points, title_trend)
    return charts
