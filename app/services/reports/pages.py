"""What the leaders' report pages show: overview, ranking, heat map, distributions, comments.

Everything is computed from app.services.reports.estimates (the cached aggregate table and
`analysis`); this module only decides the domains and shapes the results. It
never touches `request`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import Integer, and_, case, cast, func, select

from app.extensions import db
from app.models import ReportCell, Response, slot_column
from app.services.questionnaires.versions import rating_slots
from app.services.registry import coverage
from app.services.reports import cells as report_cells
from app.services.reports import estimates as rs
from app.services.reports.aggregates import current_month, local_month, local_month_start

LOW_RATING = 2


def month_start(month: str) -> datetime:
    """First instant of a 'YYYY-MM' month in the report time zone (config TIMEZONE), as UTC."""
    return local_month_start(month)


@dataclass
class Scope:
    """A report's context: the root agency, its subtree, the version and period."""

    root: int
    tree: rs.AgencyTree
    ids: set[int]
    filters: rs.ReportFilters
    key: tuple
    versions: list
    design: rs.Design | None
    start: str
    end: str

    @property
    def version_ids(self) -> list[int]:
        """Every version of the questionnaire with responses."""
        return [v.id for v in self.versions]


def open_scope(root: int, filters: rs.ReportFilters) -> Scope:
    """Load the tree, the latest version's aggregate table and the period."""
    tree = rs.load_tree()
    # Results depend on the tree too (a re-parented agency moves its responses to another unit).
    key = (*rs.data_version(), hash(tuple(sorted(tree.parent.items(), key=lambda kv: kv[0]))))
    versions = rs.versions_with_responses(filters.questionnaire)
    design = rs.load_design(versions[-1], filters, key) if versions else None
    # A full refresh of the table (deletions, changed flags) must refresh what was built on it.
    key = (*key, design.stamp if design else 0.0)
    months = design.months if design else ()
    start, end = rs.default_period(months, filters)
    return Scope(root, tree, set(tree.subtree(root)), filters, key, versions, design, start, end)


# ---------------------------------------------------------------- dossier volumes


def dossiers_by_agency_month(ids: set[int]) -> dict[tuple[int, str], int]:
    """Dossiers per (agency, month): an agency's own total wins over its counters' sum."""
    return coverage.dossiers_by_agency_month(ids)


def population_for(volumes: dict[tuple[int, str], int], label_of) -> dict[str, float]:
    """Dossiers per domain label, for post-stratification."""
    out: dict[str, float] = {}
    for (agency, month), n in volumes.items():
        label = label_of(agency, month)
        if label:
            out[label] = out.get(label, 0.0) + n
    return out


def _domains(scope: Scope, design: rs.Design, label_of, overall_only: bool = False) -> rs.Domains:
    labels = rs._cell_labels(design, label_of)
    population = None
    if scope.filters.weighting == "poststratified":
        population = population_for(dossiers_by_agency_month(scope.ids), label_of)
    return rs.build_domains(design, labels, scope.filters, population, overall_only=overall_only)


# ---------------------------------------------------------------- overview


@dataclass
class Overview:
    """The scope's indices for the period, their change, the trend and coverage."""

    scope: Scope
    records: list[dict] = field(default_factory=list)
    previous: tuple[str, str] | None = None
    change: dict[str, dict] = field(default_factory=dict)
    trend: list[dict] = field(default_factory=list)
    responses: int = 0
    verified: int = 0
    assisted: int = 0  # helped by an officer to fill the form in (issue 16)
    coverage: coverage.Coverage | None = None
    note: str | None = None
    incomplete: bool = False

    def record(self, code: str) -> dict | None:
        """The scope's record of one statistic."""
        return next((r for r in self.records if r["code"] == code), None)

    @property
    def elements(self) -> list[dict]:
        """Element records in questionnaire order."""
        return [r for r in self.records if r["level"] == "element"]

    @property
    def verified_share(self) -> float | None:
        """Verified responses in percent."""
        return 100.0 * self.verified / self.responses if self.responses else None

    @property
    def assisted_share(self) -> float | None:
        """Responses an officer helped to fill in, in percent (staff help may bias ratings)."""
        return 100.0 * self.assisted / self.responses if self.responses else None

    @property
    def response_rate(self) -> float | None:
        """Responses per 100 dossiers over exactly the agency-months whose volumes are known (≤ 100)."""
        return self.coverage.rate if self.coverage else None

    @property
    def dossiers(self) -> int | None:
        """Dossiers of the agency-months the rate covers, None when no volume is known."""
        return self.coverage.dossiers if self.coverage and self.coverage.pairs else None


def build_overview(root: int, filters: rs.ReportFilters) -> Overview:
    """Overall, element and criterion indices of the scope with change and trend."""
    scope = open_scope(root, filters)
    out = Overview(scope)
    if scope.design is None or scope.design.empty:
        return out
    prev = previous_period(scope)
    ids, start, end = scope.ids, scope.start, scope.end

    def label_of(agency: int, month: str) -> str | None:
        if agency not in ids:
            return None
        if start <= month <= end:
            return "cur"
        return "prev" if prev[0] <= month <= prev[1] else None

    def compute():
        domains = _domains(scope, scope.design, label_of)
        records = rs.estimate(domains, filters)
        present = {r["by"]["group"] for r in records if r["n"]}
        change = rs.between(domains, filters, "cur", "prev") if {"cur", "prev"} <= present else {}
        return records, change, domains.note, "prev" in present

    records, change, note, has_prev = rs.cached(
        "overview", (root, filters, start, end), compute, scope.key)
    out.records = [r for r in records if r["by"]["group"] == "cur"]
    out.previous = prev if has_prev else None
    out.change, out.note = change, note
    out.trend = build_trend(scope)
    out.responses, out.verified = response_counts(scope)
    out.assisted = assisted_count(scope)
    out.coverage = scope_coverage(scope)
    out.incomplete = end >= current_month()
    return out


def scope_coverage(scope: Scope) -> coverage.Coverage:
    """The response rate of the scope and period over the agency-months with dossier volumes."""
    volumes = {key: n for key, n in dossiers_by_agency_month(scope.ids).items()
               if scope.start <= key[1] <= scope.end}
    return coverage.pair_coverage(responses_by_pair(scope), volumes)


def responses_by_pair(scope: Scope) -> dict[tuple[int, str], int]:
    """Responses per (agency, month) of the scope and period under the filters (months in TIMEZONE)."""
    return {pair: n for pair, (n, _) in _pair_counts(scope).items()}


def _pair_counts(scope: Scope) -> dict[tuple[int, str], tuple[int, int]]:
    """Responses and verified responses per (agency, month) of the scope and period under the filters.

    One read serves the coverage and the counts of the overview (issue 15, item 7: each was a scan).
    """

    def compute():
        designs = _designs_with_counts(scope)
        if designs is not None:
            return _pair_counts_of(scope, designs)
        if scope.filters.service:
            month = local_month(Response.submitted_at)
            query = (select(Response.agency_id, month, func.count(),
                            func.coalesce(func.sum(cast(Response.verified, Integer)), 0))
                     .where(Response.agency_id.in_(sorted(scope.ids)),
                            Response.version_id.in_(scope.version_ids),
                            _period_clause(scope), *scope.filters.where())
                     .group_by(Response.agency_id, month))
        else:
            # Counted from the report cells: a million responses would be a full scan.
            for version_id in scope.version_ids:
                report_cells.ensure_built(version_id)
            verified = case((ReportCell.verified.is_(True), ReportCell.n), else_=0)
            query = (select(ReportCell.agency_id, ReportCell.month, func.sum(ReportCell.n),
                            func.coalesce(func.sum(verified), 0))
                     .where(ReportCell.agency_id.in_(sorted(scope.ids)),
                            ReportCell.version_id.in_(scope.version_ids),
                            ReportCell.month >= scope.start, ReportCell.month <= scope.end,
                            *scope.filters.cell_where(), *scope.filters.cell_domain())
                     .group_by(ReportCell.agency_id, ReportCell.month))
        return {(agency, month): (int(n), int(v)) for agency, month, n, v in db.session.execute(query).all()}

    return rs.cached("pairs", (scope.root, scope.filters, scope.start, scope.end), compute, scope.key)


def build_trend(scope: Scope) -> list[dict]:
    """Overall index per month in the period, per questionnaire version (a new version = a break)."""
    ids, start, end, filters = scope.ids, scope.start, scope.end, scope.filters

    def label_of(agency: int, month: str) -> str | None:
        return month if agency in ids and start <= month <= end else None

    points = []
    for version in scope.versions:
        design = rs.load_design(version, filters, scope.key)
        if design.empty:
            continue

        def compute(design=design):
            # Only OVERALL is shown: each element's criteria added into one (the same OVERALL).
            return [r for r in rs.estimate(_domains(scope, design, label_of, overall_only=True), filters)
                    if r["code"] == "OVERALL" and r["n"]]

        for record in rs.cached("trend", (scope.root, filters, start, end, version.id), compute, scope.key):
            points.append({"month": record["by"]["group"], "version": design.version, **record})
    points.sort(key=lambda p: (p["month"], p["version"]))
    for i, point in enumerate(points):
        point["break"] = i > 0 and point["version"] != points[i - 1]["version"]
    return points


def _period_clause(scope: Scope):
    return and_(Response.submitted_at >= month_start(scope.start),
                Response.submitted_at < month_start(rs.shift_month(scope.end, 1)))


def _designs_with_counts(scope: Scope) -> list[rs.Design] | None:
    """Every version's aggregate table when all of them carry verified counts (no service filter)."""
    if scope.filters.service or scope.design is None:
        return None
    designs = [rs.load_design(version, scope.filters, scope.key) for version in scope.versions]
    return designs if all("verified_n" in d.table for d in designs) else None


def _pair_counts_of(scope: Scope, designs: list[rs.Design]) -> dict[tuple[int, str], tuple[int, int]]:
    """The same counts from the aggregate tables already in memory: their rows inside the data filters.

    A table's rows are the report cells that pass the filters' conditions (inside) or only
    the cleaning (outside), summed per agency × month × stratum × PSU, so its inside rows of the
    scope's agencies and months add up to exactly what a GROUP BY over those cells gives.
    """
    out: dict[tuple[int, str], tuple[int, int]] = {}
    for design in designs:
        table = design.table
        codes, agencies, months = design.agency_months
        pairs = zip(agencies, months, strict=True)
        keep = np.array([a in scope.ids and scope.start <= m <= scope.end for a, m in pairs], dtype=bool)
        rows = table["inside"] & keep[codes] if len(codes) else np.zeros(0, dtype=bool)
        n = np.bincount(codes[rows], weights=table["n"][rows], minlength=len(agencies))
        verified = np.bincount(codes[rows], weights=table["verified_n"][rows], minlength=len(agencies))
        present = np.flatnonzero(np.bincount(codes[rows], minlength=len(agencies)))
        # Whole numbers: rounded at once, then one tuple per pair (12,000 pairs at a million responses).
        counts = np.rint(n[present]).astype(np.int64).tolist()
        sure_counts = np.rint(verified[present]).astype(np.int64).tolist()
        for i, count, sure_count in zip(present.tolist(), counts, sure_counts, strict=True):
            pair = (int(agencies[i]), str(months[i]))
            total, sure = out.get(pair, (0, 0))
            out[pair] = (total + count, sure + sure_count)
    return out


def response_counts(scope: Scope) -> tuple[int, int]:
    """Responses and verified responses of the scope and period under the filters."""
    pairs = _pair_counts(scope).values()
    return sum(n for n, _ in pairs), sum(v for _, v in pairs)


def assisted_count(scope: Scope) -> int:
    """Responses of the scope and period under the filters that an officer helped to fill in (issue 16)."""

    def compute():
        return int(db.session.scalar(
            select(func.count()).where(
                Response.assisted.is_(True), Response.agency_id.in_(sorted(scope.ids)),
                Response.version_id.in_(scope.version_ids), _period_clause(scope), *scope.filters.where())))

    return rs.cached("assisted", (scope.root, scope.filters, scope.start, scope.end), compute, scope.key)


# ---------------------------------------------------------------- ranking and heat map


@dataclass
class Ranking:
    """Indices of the units under the scope (children, or agencies of one level)."""

    scope: Scope
    rows: list[dict] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    average: dict | None = None
    note: str | None = None
    previous: tuple[str, str] | None = None


def previous_period(scope: Scope) -> tuple[str, str]:
    """The period of the same length just before the scope's."""
    span = rs.months_between(scope.start, scope.end)
    return rs.shift_month(scope.start, -span), rs.shift_month(scope.start, -1)


def build_ranking(root: int, filters: rs.ReportFilters, lang: str) -> Ranking:
    """Every unit's indices, each unit against the scope's average, sorted by the chosen index."""
    scope = open_scope(root, filters)
    out = Ranking(scope)
    if scope.design is None or scope.design.empty:
        return out
    tree, ids, start, end = scope.tree, scope.ids, scope.start, scope.end
    unit_memo: dict[int, int | None] = {}

    def label_of(agency: int, month: str) -> str | None:
        if agency not in ids or not start <= month <= end:
            return None
        if agency not in unit_memo:
            unit_memo[agency] = tree.unit_of(agency, root, filters.level)
        unit = unit_memo[agency]
        return None if unit is None else str(unit)

    def compute():
        domains = _domains(scope, scope.design, label_of)
        records = rs.estimate(domains, filters)
        codes = tuple(dict.fromkeys((filters.code, "OVERALL")))
        code = _rank_code(records, filters.code)
        ranks = rs.rank_units(domains, filters, code, _reportable(records, code))
        return records, rs.versus_scope(domains, filters, codes), domains.note, ranks

    records, versus, note, ranks = rs.cached("ranking", (root, filters, start, end), compute, scope.key)
    out.note = note
    out.codes = [e.code for e in scope.design.spec.elements]
    out.rows = _ranking_rows(records, versus, tree, lang, filters.code)
    out.average = _scope_average(scope, label_of)
    out.previous, changes, previous_ranks = _unit_changes(scope, unit_memo,
                                                          [row["agency_id"] for row in out.rows])
    by_unit: dict[str, dict] = {}
    for (unit, code), diff in changes.items():
        by_unit.setdefault(unit, {})[code] = diff
    for row in out.rows:
        label = str(row["agency_id"])
        row["changes"] = by_unit.get(label, {})
        row["change"] = row["changes"].get(row["record"]["code"])
        row["change_significance"] = rs.significance(row["change"])
        rank = ranks.get(label)
        row["rank"], row["rank_low"], row["rank_high"] = rank if rank else (None, None, None)
        row["previous_rank"] = previous_ranks.get(label)
        row["rank_change"] = (row["previous_rank"] - row["rank"]
                              if row["rank"] is not None and row["previous_rank"] is not None else None)
    out.rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0,
                                 -(r["record"]["estimate"] if r["record"]["estimate"] is not None else -1)))
    return out


def _rank_code(records: list[dict], code: str) -> str:
    """The statistic ranked on: the chosen one when it exists, else OVERALL."""
    return code if any(r["code"] == code for r in records) else "OVERALL"


def _reportable(records: list[dict], code: str, suffix: str = "") -> list[str]:
    """Units whose estimate of `code` passes the reporting rules (only they get a rank)."""
    out = []
    for r in records:
        group = str(r["by"]["group"])
        if r["code"] == code and r["n"] and not r["suppressed"] and r["estimate"] is not None \
                and group.endswith(suffix):
            out.append(group[: len(group) - len(suffix)] if suffix else group)
    return out


def _unit_changes(scope: Scope, unit_memo: dict, units: list[int]):
    """Each unit's change since the previous period, per statistic, with its test."""
    prev = previous_period(scope)
    start, end, ids, tree, level = scope.start, scope.end, scope.ids, scope.tree, scope.filters.level

    def label_of(agency: int, month: str) -> str | None:
        if agency not in ids:
            return None
        period = "cur" if start <= month <= end else ("prev" if prev[0] <= month <= prev[1] else None)
        if period is None:
            return None
        if agency not in unit_memo:
            unit_memo[agency] = tree.unit_of(agency, scope.root, level)
        unit = unit_memo[agency]
        return None if unit is None else f"{unit}|{period}"

    def compute():
        domains = _domains(scope, scope.design, label_of)
        present = rs.answered_groups(domains)  # which units have both periods; no estimate needed
        pairs = [(f"{u}|cur", f"{u}|prev") for u in units if {f"{u}|cur", f"{u}|prev"} <= present]
        codes = (*(e.code for e in scope.design.spec.elements), "OVERALL")
        diffs = rs.pairwise(domains, scope.filters, pairs, codes)
        # The previous period's ranks: the order of the units reportable then (no interval needed).
        records = rs.estimate(domains, scope.filters) if present else []
        code = _rank_code(records, scope.filters.code)
        before = {r["by"]["group"]: r["estimate"] for r in records if r["code"] == code}
        ranked = sorted(_reportable(records, code, "|prev"), key=lambda u: -before[f"{u}|prev"])
        previous_ranks = {unit: i + 1 for i, unit in enumerate(ranked)}
        return {(label.split("|")[0], code): d for (label, code), d in diffs.items()}, previous_ranks

    key = (scope.root, scope.filters, start, end)
    changes, previous_ranks = rs.cached("changes", key, compute, scope.key)
    return (prev if changes else None), changes, previous_ranks


def _ranking_rows(records, versus, tree, lang, code) -> list[dict]:
    units: dict[str, dict] = {}
    for r in records:
        unit = units.setdefault(r["by"]["group"], {"records": {}})
        unit["records"][r["code"]] = r
    rows = []
    for label, unit in units.items():
        main = unit["records"].get(code) or unit["records"].get("OVERALL")
        if main is None or not main["n"]:
            continue
        agency = int(label)
        diff = versus.get((label, main["code"]))
        rows.append({"agency_id": agency, "code": tree.code[agency], "name": tree.name(agency, lang),
                     "level": tree.level[agency], "has_children": bool(tree.children.get(agency)),
                     "record": main, "records": unit["records"], "versus": diff,
                     "significance": rs.significance(diff),
                     "small": bool(main["suppressed"])})
    rows.sort(key=lambda row: -(row["record"]["estimate"] if row["record"]["estimate"] is not None else -1))
    return rows


def _scope_average(scope: Scope, unit_label) -> dict | None:
    def label_of(agency: int, month: str) -> str | None:
        return "all" if unit_label(agency, month) else None

    def compute():
        return rs.estimate(_domains(scope, scope.design, label_of), scope.filters)

    records = rs.cached("average", (scope.root, scope.filters, scope.start, scope.end), compute, scope.key)
    return next((r for r in records if r["code"] == scope.filters.code), None) or next(
        (r for r in records if r["code"] == "OVERALL"), None)


# ---------------------------------------------------------------- distributions


def rating_distribution(scope: Scope) -> list[dict]:
    """Answers per rating value for each criterion of the latest version in the scope and period."""
    design = scope.design
    if design is None:
        return []
    questionnaire = design.questionnaire
    slots = rating_slots(questionnaire)
    points = questionnaire.scale.points
    codes = list(questionnaire.likert_codes())

    def compute():
        measures = []
        for code in codes:
            rating = getattr(Response, slot_column(slots[code]))
            measures += [func.sum(case((rating == v, 1), else_=0)) for v in range(1, points + 1)]
        row = db.session.execute(
            select(*measures).where(Response.version_id == design.version_id,
                                    Response.agency_id.in_(sorted(scope.ids)), _period_clause(scope),
                                    *scope.filters.where())
        ).one()
        values = [int(v or 0) for v in row]
        return [{"code": code, "counts": values[i * points:(i + 1) * points]} for i, code in enumerate(codes)]

    return rs.cached("distribution", (scope.root, scope.filters, scope.start, scope.end), compute, scope.key)


# ---------------------------------------------------------------- comments


@dataclass(frozen=True)
class Comment:
    """A free-text answer with the response's ratings."""

    submitted_at: datetime
    agency_id: int
    channel: str
    text: str
    ratings: dict[str, int]
    # The response's public id: an officer may turn the comment into a case (issue 18).
    uid: str | None = None

    @property
    def lowest(self) -> int | None:
        """The lowest rating given in that response."""
        return min(self.ratings.values()) if self.ratings else None

    @property
    def low(self) -> bool:
        """Whether the citizen gave a low rating (worth a follow-up)."""
        return self.lowest is not None and self.lowest <= LOW_RATING


def list_comments(scope: Scope, low_only: bool = False, limit: int = 200, scan: int = 5000) -> list[Comment]:
    """The latest comments of the scope and period, newest first (at most `limit`)."""
    if scope.design is None:
        return []
    out: list[Comment] = []
    for version in reversed(scope.versions):
        out += _version_comments(scope, version, low_only, scan)
        if len(out) >= limit:
            break
    out.sort(key=lambda c: c.submitted_at, reverse=True)
    return out[:limit]


def _version_comments(scope: Scope, version, low_only: bool, scan: int) -> list[Comment]:
    from app.services.questionnaires.versions import questionnaire_of

    questionnaire = questionnaire_of(version)
    texts = [q.code for q in questionnaire.all_questions() if q.type == "text"]
    slots = rating_slots(questionnaire)
    if not texts:
        return []
    columns = [getattr(Response, slot_column(slots[c])) for c in questionnaire.likert_codes()]
    rows = db.session.execute(
        select(Response.submitted_at, Response.agency_id, Response.channel, Response.answers, *columns)
        .where(Response.version_id == version.id, Response.agency_id.in_(sorted(scope.ids)),
               _period_clause(scope), *scope.filters.where())
        .order_by(Response.submitted_at.desc()).limit(scan)
    ).all()
    out = []
    for row in rows:
        answers = row[3] or {}
        text = " / ".join(str(answers[c]).strip() for c in texts if str(answers.get(c) or "").strip())
        if not text:
            continue
        ratings = {c: v for c, v in zip(questionnaire.likert_codes(), row[4:], strict=True) if v is not None}
        comment = Comment(row[0], row[1], row[2], text, ratings)
        if comment.low or not low_only:
            out.append(comment)
    return out


def public_scoreboard(lang: str) -> list[dict]:
    """Per top agency: its overall index and each agency below it, reportable estimates only."""
    boards = []
    tree = rs.load_tree()
    for root in rs.scope_roots(tree, None):
        overview = build_overview(root, rs.ReportFilters())
        ranking = build_ranking(root, rs.ReportFilters(), lang)
        overall = overview.record("OVERALL")
        rows = [{"name": r["name"], "record": r["record"], "elements": r["records"], "rank": r["rank"],
                 "rank_low": r["rank_low"], "rank_high": r["rank_high"], "rank_change": r["rank_change"],
                 "change": r["change"], "change_significance": r["change_significance"]}
                for r in ranking.rows if not r["small"]]
        boards.append({"name": tree.name(root, lang), "overall": overall, "rows": rows,
                       "codes": ranking.codes, "period": (overview.scope.start, overview.scope.end),
                       "titles": _element_titles(overview.scope, lang)})
    return boards


def _element_titles(scope: Scope, lang: str) -> dict[str, str]:
    if scope.design is None:
        return {}
    elements = scope.design.questionnaire.elements
    return {e.code: e.title.get(lang) or e.title.get("vi") or e.code for e in elements}
