"""Every collected question that is not an index criterion, as design-based shares.

The overall-satisfaction item and each element's "in general" item (share
satisfied among those who answered), each option of a single- or multi-choice
question such as the expectations (share of the respondents answering the
question who chose it; a multi-choice question's shares need not sum to 100),
and the respondents' profile: gender and age group (as any single-choice
question), channel and the verified share (among all responses).

The database sums, per agency × month × stratum × PSU (and whether a response
is inside the data filters' domain), the weighted indicators and denominators
of every share, in one GROUP BY over the version's responses (the answers to
choice questions sit in the responses' JSON, which the report cells do not
hold). :mod:`analysis.proportions` then estimates each share with the indices'
linearisation, df, logit interval and reporting rules; every PSU of the version
stays in the design, so the shares of an agency, a month or a filtered
subpopulation are domain estimates, as the indices are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Integer, String, and_, case, cast, func, literal, select

from analysis.proportions import ProportionCells, estimate_proportions
from app.extensions import db
from app.models import CHANNELS, Response, slot_column
from app.services.questionnaires.versions import rating_slots
from app.services.reports import aggregates, pages
from app.services.reports import estimates as rs
from app.services.reports.aggregates import _is_satisfied

CHOICE_TYPES = ("single", "multi")


@dataclass(frozen=True)
class Statistic:
    """One share: a question (or 'channel' / 'verified') and the answer counted."""

    code: str
    value: str
    kind: str

    @property
    def key(self) -> str:
        """'CODE:value', the statistic's name in records."""
        return f"{self.code}:{self.value}"


def statistics(questionnaire) -> list[Statistic]:
    """The shares reported for a questionnaire: likert items outside the elements, options, profile."""
    out = [Statistic(q.code, "satisfied", "likert") for q in questionnaire.questions if q.type == "likert"]
    for q in questionnaire.questions:
        if q.type in CHOICE_TYPES:
            out += [Statistic(q.code, o.value, q.type) for o in q.options]
    out += [Statistic("channel", c, "channel") for c in CHANNELS]
    out.append(Statistic("verified", "1", "verified"))
    return out


def _indicators(stat: Statistic, questionnaire, row):
    """(y, x) as SQL 0/1 expressions on the inner query's columns: chose the answer, answered the question."""
    one = literal(1)
    if stat.kind == "likert":
        rating = row.c[f"q_{stat.code}"]
        scale = questionnaire.scale
        satisfied = _is_satisfied(rating, sorted(scale.satisfied), scale.points)
        return (case((satisfied, 1), else_=0), case((rating.is_not(None), 1), else_=0))
    if stat.kind == "channel":
        return case((row.c.channel == stat.value, 1), else_=0), one
    if stat.kind == "verified":
        return cast(row.c.verified, Integer), one
    text = row.c[f"q_{stat.code}"]
    answered = and_(text.is_not(None), text != "", text != "[]")
    if stat.kind == "single":
        chosen = text == stat.value
    else:  # a JSON list of option values: the quoted value inside it
        chosen = text.contains(f'"{stat.value}"', autoescape=True)
    return case((and_(answered, chosen), 1), else_=0), case((answered, 1), else_=0)


def _rows(version, questionnaire, filters: rs.ReportFilters, stats: list[Statistic]):
    """One row per response: its keys, weight and each question's answer (a JSON answer read once)."""
    slots = rating_slots(questionnaire)
    domain = filters.domain()
    columns = [Response.agency_id.label("agency"), _month().label("month"),
               func.coalesce(Response.stratum, "-").label("stratum"),
               func.coalesce(Response.psu, "#" + cast(Response.id, String)).label("psu"),
               (case((and_(*domain), 1), else_=0) if domain else literal(1)).label("inside"),
               (func.coalesce(Response.weight, 1.0) if filters.weighting != "unweighted"
                else literal(1.0)).label("weight"),
               Response.channel.label("channel"), Response.verified.label("verified")]
    for code in dict.fromkeys(s.code for s in stats if s.kind in ("likert", *CHOICE_TYPES)):
        kind = next(s.kind for s in stats if s.code == code)
        value = (getattr(Response, slot_column(slots[code])) if kind == "likert"
                 else Response.answers[code].as_string())
        columns.append(value.label(f"q_{code}"))
    # OFFSET 0 keeps the databases from merging this query into the sums, which would copy each
    # JSON read into every option's sums (PostgreSQL parsed a response's answers 30 times, 10x slower).
    return (select(*columns).where(Response.version_id == version.id, *filters.cleaning())
            .offset(0).subquery())


def _month():
    """The month of a response as the report cells cut it (in TIMEZONE once issue 15's item 1 is in)."""
    if hasattr(aggregates, "group_column"):
        return aggregates.group_column("month")
    return aggregates.GROUP_COLUMNS["month"]


@dataclass(frozen=True)
class ShareTable:
    """Sums per agency × month × stratum × PSU × inside: weighted y, weighted x, unweighted x per share."""

    agency: np.ndarray
    month: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    inside: np.ndarray
    y: np.ndarray
    x: np.ndarray
    n: np.ndarray
    stats: tuple[Statistic, ...]


def share_table(version, questionnaire, filters: rs.ReportFilters) -> ShareTable:
    """One GROUP BY over the version's responses (after the cleaning) with the domain as a column.

    The inner query reads each question's JSON answer once per response; the sums test its text.
    """
    stats = statistics(questionnaire)
    row = _rows(version, questionnaire, filters, stats)
    keys = [row.c.agency, row.c.month, row.c.stratum, row.c.psu, row.c.inside]
    measures = []
    for stat in stats:
        y, x = _indicators(stat, questionnaire, row)
        measures += [func.sum(row.c.weight * y), func.sum(row.c.weight * x), func.sum(x)]
    rows = db.session.execute(select(*keys, *measures).group_by(*keys)).all()
    k = len(stats)
    values = np.array([r[5:] for r in rows], dtype=float).reshape(len(rows), 3 * k)
    column = [np.array([r[i] for r in rows], dtype=object) for i in range(5)]
    return ShareTable(column[0].astype(np.int64) if rows else np.empty(0, np.int64), column[1],
                      column[2].astype(str), column[3].astype(str), column[4].astype(int) == 1,
                      values[:, 0::3], values[:, 1::3], values[:, 2::3], tuple(stats))


def estimate_shares(table: ShareTable, label_of) -> dict[str, dict[str, dict]]:
    """{domain label: {statistic key: record}} for the labels label_of(agency, month) gives."""
    if len(table.agency) == 0:
        return {}
    memo: dict[tuple[int, str], str] = {}
    labels = np.empty(len(table.agency), dtype=object)
    for i, (agency, month, inside) in enumerate(zip(table.agency.tolist(), table.month.tolist(),
                                                    table.inside.tolist(), strict=True)):
        if (agency, month) not in memo:
            memo[(agency, month)] = label_of(agency, month) or rs.OUT
        labels[i] = memo[(agency, month)] if inside else rs.OUT
    group, names = pd.factorize(labels)
    strata, stratum_codes = pd.factorize(table.stratum)
    psu, pairs = pd.factorize(pd.Series(table.stratum) + "\x1f" + pd.Series(table.psu))
    psu_stratum = np.zeros(len(pairs), dtype=np.int64)
    psu_stratum[psu] = strata
    cells = ProportionCells(table.y, table.x, table.n, group.astype(np.int64), psu.astype(np.int64),
                            psu_stratum, len(names), tuple(s.key for s in table.stats))
    out: dict[str, dict[str, dict]] = {}
    with np.errstate(all="ignore"):
        records = estimate_proportions(cells, rules=rs.RULES)
    for record in records:
        label = str(names[record["group"]])
        if label != rs.OUT:
            out.setdefault(label, {})[record["code"]] = record
    return out


# ---------------------------------------------------------------- the page's data


@dataclass
class QuestionsReport:
    """The shares of the scope and period, per unit below and per month."""

    scope: pages.Scope
    items: list[dict] = field(default_factory=list)
    choices: list[dict] = field(default_factory=list)
    profile: list[dict] = field(default_factory=list)
    units: list[dict] = field(default_factory=list)
    months: list[dict] = field(default_factory=list)
    responses: int = 0
    note: str | None = None

    @property
    def expectations(self) -> list[dict]:
        """The multi-choice questions (the expectations), options ranked by share."""
        return [c for c in self.choices if c["type"] == "multi"]


def _text(mapping: dict | None, lang: str, default: str) -> str:
    return (mapping or {}).get(lang) or (mapping or {}).get("vi") or default


def _ranked(options: list[dict]) -> list[dict]:
    ranked = sorted(options, key=lambda o: -(o["record"]["estimate"] if o["record"]["estimate"] is not None
                                             else -1))
    for i, option in enumerate(ranked, start=1):
        option["rank"] = i
    return ranked


def build_questions(root: int, filters: rs.ReportFilters, lang: str, channel_labels: dict[str, str],
                    verified_label: str) -> QuestionsReport:
    """Every non-criterion question of the latest version in the scope: scope, units and months."""
    scope = pages.open_scope(root, filters)
    out = QuestionsReport(scope)
    if scope.design is None or scope.design.empty:
        return out
    version = scope.versions[-1]
    questionnaire = scope.design.questionnaire
    tree, ids, start, end = scope.tree, scope.ids, scope.start, scope.end
    units: dict[int, int | None] = {}

    def in_scope(agency: int, month: str) -> bool:
        return agency in ids and start <= month <= end

    def unit_of(agency: int, month: str) -> str | None:
        if not in_scope(agency, month):
            return None
        if agency not in units:
            units[agency] = tree.unit_of(agency, root, filters.level)
        return None if units[agency] is None else str(units[agency])

    def compute():
        table = rs.cached("question-table", (version.id, filters.data_key(), filters.weighting),
                          lambda: share_table(version, questionnaire, filters), scope.key)
        return (estimate_shares(table, lambda a, m: "cur" if in_scope(a, m) else None),
                estimate_shares(table, unit_of),
                estimate_shares(table, lambda a, m: m if in_scope(a, m) else None))

    whole, by_unit, by_month = rs.cached("questions", (root, filters, start, end), compute, scope.key)
    current = whole.get("cur", {})
    stats = statistics(questionnaire)
    out.items = [{"code": s.code, "text": _text(questionnaire.question(s.code).text, lang, s.code),
                  "record": current[s.key]} for s in stats if s.kind == "likert" and s.key in current]
    out.choices = _choices(questionnaire, current, lang)
    out.profile = [c for c in out.choices if c["type"] == "single"] + _profile(current, channel_labels,
                                                                               verified_label)
    out.units = _units(by_unit, tree, lang, stats)
    out.months = [{"month": m, "records": by_month[m]} for m in sorted(by_month)]
    overall = current.get("channel:" + CHANNELS[0])
    out.responses = overall["n"] if overall else 0
    out.note = "design-weights" if filters.weighting == "poststratified" else None
    return out


def _choices(questionnaire, current: dict, lang: str) -> list[dict]:
    out = []
    for q in questionnaire.questions:
        if q.type not in CHOICE_TYPES:
            continue
        options = [{"value": o.value, "label": _text(o.label, lang, o.value), "record": current[key]}
                   for o in q.options if (key := f"{q.code}:{o.value}") in current]
        if options:
            out.append({"code": q.code, "type": q.type, "text": _text(q.text, lang, q.code),
                        "options": _ranked(options) if q.type == "multi" else options,
                        "n": options[0]["record"]["n"]})
    return out


def _profile(current: dict, channel_labels: dict[str, str], verified_label: str) -> list[dict]:
    channels = [{"value": c, "label": channel_labels.get(c, c), "record": current[f"channel:{c}"]}
                for c in CHANNELS if f"channel:{c}" in current and current[f"channel:{c}"]["estimate"]]
    out = []
    if channels:
        out.append({"code": "channel", "type": "channel", "text": channel_labels["_title"],
                    "options": channels, "n": channels[0]["record"]["n"]})
    if "verified:1" in current:
        record = current["verified:1"]
        out.append({"code": "verified", "type": "verified", "text": verified_label,
                    "options": [{"value": "1", "label": verified_label, "record": record}], "n": record["n"]})
    return out


def _units(by_unit: dict, tree, lang: str, stats: list[Statistic]) -> list[dict]:
    likert = [s.key for s in stats if s.kind == "likert"]
    main = "OVERALL:satisfied" if "OVERALL:satisfied" in likert else (likert[0] if likert else None)
    multi = [s for s in stats if s.kind == "multi"]
    rows = []
    for label, records in by_unit.items():
        agency = int(label)
        top = sorted((records[s.key] | {"value": s.value} for s in multi if s.key in records),
                     key=lambda r: -(r["estimate"] if r["estimate"] is not None else -1))
        record = records.get(main) if main else None
        if record is None or not record["n"] and not top:
            continue
        rows.append({"agency_id": agency, "name": tree.name(agency, lang), "code": tree.code[agency],
                     "record": record, "records": records, "top": top[:3]})
    # Reportable units first (as a ranking never ranks a suppressed one), each part by the share.
    rows.sort(key=lambda r: (bool(r["record"]["suppressed"]), -_or(r["record"]["estimate"], -1)))
    return rows


def _or(value, default):
    return default if value is None else value
