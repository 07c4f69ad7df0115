"""Leaders' reports: filters, the cached aggregate table, and indices for an agency scope.

One implementation: the database computes the aggregate table of
analysis/totals.py (agency × month × stratum × PSU) with one GROUP BY, and
`analysis` turns it into indices, intervals, differences and rankings, as the
CLI does. The table covers the whole design (every agency and month of the
questionnaire version, after the data filters); a scope, a period or an
agency level only decides which cells belong to which domain. Cells outside
the domain stay in the design with zero weight, so variances are domain
variances over the full design (FORMATS.md §3) and "the scope's average" is
the average of the scope, not of the province.

Aggregate tables are cached in-process, keyed by the filters and a data
version that changes when responses (or dossier volumes) change.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import special
from sqlalchemy import func, select

from analysis import IndexSpec, ReportingRules, estimate_indices, totals_from_table
from analysis.compare import _pair_df, covariance, pooled, psu_influence, rank_intervals
from analysis.errors import AnalysisError
from analysis.estimate import group_df, linearise
from analysis.variance import dense_variance
from analysis.weighting import poststratify
from app.extensions import db
from app.models import CHANNELS, Agency, AuditEvent, DossierVolume, QuestionnaireVersion, ReportCell, Response
from app.models import Questionnaire as QuestionnaireRow
from app.models.org import AGENCY_LEVELS
from app.models.response import REVIEW_ACTIONS
from app.services.questionnaires.versions import questionnaire_of
from app.services.reports import cells as report_cells
from app.services.reports.aggregates import current_month, psu_totals_table

OUT = "~out"
WEIGHTINGS = ("design", "unweighted", "poststratified")
MEASURES = ("satisfied", "mean-score")
DEFAULT_QUESTIONNAIRE = "sipas-2017"
SIGNIFICANCE = 0.05
RULES = ReportingRules()
# The design table's columns that say which row it is; the others are sums.
_ROW_KEYS = ("agency", "month", "stratum", "psu", "inside", "verified_n")
# Dense PSU × statistic blocks stay below ~64 MB.
CHUNK_VALUES = 8_000_000





def _month_arg(value: str | None) -> str | None:
    # Years 1900-2999 only: period arithmetic near year 0 or 9999 would leave datetime's range.
    if value and len(value) == 7 and value[4] == "-" and value.replace("-", "").isascii():
        year, month = value[:4], value[5:]
        if year.isdigit() and month.isdigit() and 1900 <= int(year) <= 2999 and 1 <= int(month) <= 12:
            return value
    return None


def _int_arg(value: str | None) -> int | None:
    # ASCII digits within a database integer ("²" is a digit to str.isdigit, not to int()).
    if value and value.isascii() and value.isdigit() and int(value) <= 2_147_483_647:
        return int(value)
    return None


def _text_arg(value: str | None, default: str, size: int) -> str:
    # A NUL byte is refused by PostgreSQL: such a value falls back to the default like any unknown one.
    return value[:size] if value and "\x00" not in value else default


def _choice(value: str | None, choices: tuple[str, ...], default: str | None) -> str | None:
    return value if value in choices else default


@dataclass(frozen=True)
class ReportFilters:
    """What a leader chose: questionnaire, period (months), agency level, data filters, weighting."""

    questionnaire: str = DEFAULT_QUESTIONNAIRE
    start: str | None = None
    end: str | None = None
    level: str | None = None
    service: int | None = None
    channel: str | None = None
    verified_only: bool = False
    include_suspicious: bool = False
    weighting: str = "design"
    measure: str = "satisfied"
    code: str = "OVERALL"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ReportFilters:
        """Read filters from query arguments; unknown or malformed values fall back to defaults."""
        code = args.get("code") or "OVERALL"
        return cls(
            questionnaire=_text_arg(args.get("questionnaire"), DEFAULT_QUESTIONNAIRE, 64),
            start=_month_arg(args.get("start")),
            end=_month_arg(args.get("end")),
            level=_choice(args.get("level"), AGENCY_LEVELS, None),
            service=_int_arg(args.get("service")),
            channel=_choice(args.get("channel"), CHANNELS, None),
            verified_only=args.get("verified") == "1",
            include_suspicious=args.get("suspicious") == "1",
            weighting=_choice(args.get("weighting"), WEIGHTINGS, "design"),
            measure=_choice(args.get("measure"), MEASURES, "satisfied"),
            code=code[:32] if code.replace("_", "").isalnum() else "OVERALL",
        )

    @staticmethod
    def invalid(args: Mapping[str, str]) -> list[str]:
        """Names of the filters given a value that is not allowed (an empty value means the default)."""
        checks = {
            "start": lambda v: _month_arg(v) is not None,
            "end": lambda v: _month_arg(v) is not None,
            "level": lambda v: v in AGENCY_LEVELS,
            "service": lambda v: bool(_int_arg(v)),
            "channel": lambda v: v in CHANNELS,
            "weighting": lambda v: v in WEIGHTINGS,
            "measure": lambda v: v in MEASURES,
            "code": lambda v: len(v) <= 32 and v.replace("_", "").isalnum() and v.isascii(),
            "verified": lambda v: v in ("0", "1"),
            "suspicious": lambda v: v in ("0", "1"),
            "questionnaire": lambda v: len(v) <= 64 and "\x00" not in v,
        }
        return [name for name, ok in checks.items() if args.get(name) and not ok(args[name])]

    def as_args(self) -> dict[str, str]:
        """The non-default filters as query arguments, so links keep them."""
        values = {
            "questionnaire": self.questionnaire if self.questionnaire != DEFAULT_QUESTIONNAIRE else None,
            "start": self.start, "end": self.end, "level": self.level,
            "service": str(self.service) if self.service else None, "channel": self.channel,
            "verified": "1" if self.verified_only else None,
            "suspicious": "1" if self.include_suspicious else None,
            "weighting": self.weighting if self.weighting != "design" else None,
            "measure": self.measure if self.measure != "satisfied" else None,
            "code": self.code if self.code != "OVERALL" else None,
        }
        return {k: v for k, v in values.items() if v}

    def where(self) -> list:
        """Every data filter as SQL conditions on responses (for listings and counts)."""
        return self.domain() + self.cleaning()

    def domain(self) -> list:
        """The subpopulation chosen (service, channel, verified): a domain of the design, not a cut.

        Estimates keep every PSU of the design, with zero sums where no response of the
        domain fell (FORMATS.md §3), so their variances are domain variances.
        """
        clauses = []
        if self.service:
            clauses.append(Response.service_id == self.service)
        if self.channel:
            clauses.append(Response.channel == self.channel)
        if self.verified_only:
            clauses.append(Response.verified.is_(True))
        return clauses

    def cleaning(self) -> list:
        """Responses left out of the data altogether: voided ones, and suspicious ones unless asked for."""
        # Answers to a survey campaign (issue 19) are weighted apart, never mixed with the counters'.
        voided = [Response.voided_at.is_(None), Response.campaign_id.is_(None)]
        return voided if self.include_suspicious else [*voided, Response.suspicious.is_(False)]

    def cell_domain(self) -> list:
        """The domain's conditions on report cells (all but the service, which cells do not hold)."""
        clauses = []
        if self.channel:
            clauses.append(ReportCell.channel == self.channel)
        if self.verified_only:
            clauses.append(ReportCell.verified.is_(True))
        return clauses

    def cell_where(self) -> list:
        """The cleaning's conditions on report cells."""
        return [] if self.include_suspicious else [ReportCell.suspicious.is_(False)]

    def data_key(self) -> tuple:
        """The part of the filters that changes the database's aggregate table."""
        return (self.service, self.channel, self.verified_only, self.include_suspicious,
                self.weighting == "unweighted", self.measure == "mean-score")


# ---------------------------------------------------------------- cache


class _LruCache:
    """A small in-process LRU map; each worker keeps its own (Redis is the multi-machine step)."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key, compute: Callable):
        """The cached value for key, computing (outside the lock) and storing it when missing."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()


CACHE = _LruCache()
# Aggregate tables, per version, data filters and data version (a few MB each).
DESIGNS = _LruCache(8)


def data_version() -> tuple:
    """Changes whenever a response is added or a dossier volume is added or updated.

    MAX(id) reads the primary-key index; COUNT(*) would scan a million rows on every
    request. Responses deleted or re-flagged by hand (the app does neither) show
    after `flask reports rebuild`, which also calls invalidate().
    """
    top = db.session.scalar(select(func.max(Response.id)))
    volumes = db.session.execute(select(func.count(), func.max(DossierVolume.updated_at))).one()
    # A response voided, restored or confirmed (issue 17) is audited: the latest such event (an
    # indexed read) tells every worker to recompute.
    reviewed = db.session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.action.in_(REVIEW_ACTIONS)))
    return (db.engine.url.render_as_string(), top or 0, reviewed or 0, *map(str, volumes), _GENERATION[0])


# Bumped by invalidate(): every cached report is then recomputed.
_GENERATION = [0]


def invalidate() -> None:
    """Forget every cached report and aggregate table of this worker."""
    _GENERATION[0] += 1
    CACHE.clear()
    DESIGNS.clear()


def cached(name: str, key: tuple, compute: Callable, version: tuple | None = None):
    """Memoise compute() under (name, key, data version)."""
    return CACHE.get_or_compute((name, key, version or data_version()), compute)


# ---------------------------------------------------------------- agencies


@dataclass(frozen=True)
class AgencyTree:
    """The agency tree as plain maps (1,000 agencies load in milliseconds)."""

    parent: dict[int, int | None]
    level: dict[int, str]
    code: dict[int, str]
    names: dict[int, tuple[str, str]]
    children: dict[int | None, list[int]] = field(default_factory=dict)

    def name(self, agency_id: int, lang: str) -> str:
        """The agency's name in a language."""
        vi, en = self.names[agency_id]
        return en if lang == "en" else vi

    def subtree(self, root: int) -> list[int]:
        """The root and every agency below it."""
        out, stack = [], [root]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(self.children.get(current, ()))
        return out

    def path(self, agency_id: int) -> list[int]:
        """From the top of the tree down to the agency."""
        out: list[int] = []
        current: int | None = agency_id
        while current is not None and current not in out:
            out.append(current)
            current = self.parent.get(current)
        return out[::-1]

    def unit_of(self, agency_id: int, root: int, level: str | None) -> int | None:
        """Which reporting unit under `root` an agency's responses count for (None: none)."""
        path = self.path(agency_id)
        if root not in path:
            return None
        below = path[path.index(root):]
        if level is None:
            return below[1] if len(below) > 1 else root
        return next((a for a in below if self.level[a] == level), None)


def load_tree() -> AgencyTree:
    """Read the agency tree."""
    rows = db.session.execute(
        select(Agency.id, Agency.parent_id, Agency.level, Agency.code, Agency.name_vi, Agency.name_en)
        .order_by(Agency.code)
    ).all()
    children: dict[int | None, list[int]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row.id)
    return AgencyTree({r.id: r.parent_id for r in rows}, {r.id: r.level for r in rows},
                      {r.id: r.code for r in rows}, {r.id: (r.name_vi, r.name_en) for r in rows},
                      children)


def scope_roots(tree: AgencyTree, visible: set[int] | None) -> list[int]:
    """Top agencies of a user's scope (every root for administrators)."""
    if visible is None:
        return list(tree.children.get(None, []))
    return [a for a in visible if tree.parent.get(a) not in visible]


# ---------------------------------------------------------------- questionnaire versions


def _has_responses():
    # EXISTS probes the (version_id, submitted_at) index once per version; a DISTINCT over
    # response.version_id read all of its million entries (0.2 s on PostgreSQL, on every request).
    return select(Response.id).where(Response.version_id == QuestionnaireVersion.id).exists()


def versions_with_responses(code: str) -> list[QuestionnaireVersion]:
    """Published versions of a questionnaire that have responses, oldest first."""
    return list(db.session.scalars(
        select(QuestionnaireVersion).join(QuestionnaireRow)
        .where(QuestionnaireRow.code == code, _has_responses())
        .order_by(QuestionnaireVersion.version)
    ))


def questionnaire_codes() -> list[str]:
    """Codes of the questionnaires that have responses."""
    return list(db.session.scalars(
        select(QuestionnaireRow.code).join(QuestionnaireVersion)
        .where(_has_responses()).distinct().order_by(QuestionnaireRow.code)
    ))


# ---------------------------------------------------------------- aggregate tables


@dataclass(frozen=True)
class Design:
    """One questionnaire version's aggregate table (agency × month × stratum × PSU)."""

    version: int
    version_id: int
    questionnaire: object
    spec: IndexSpec
    table: dict
    months: tuple[str, ...]
    stamp: float = 0.0

    @property
    def empty(self) -> bool:
        """No response passes the filters."""
        return len(self.table.get("n", ())) == 0

    @cached_property
    def psus(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each row's PSU (stratum × PSU) code, and each code's stratum and PSU (shared by every domain)."""
        stratum, strata = pd.factorize(self.table["stratum"])
        psu, psus = pd.factorize(self.table["psu"])
        size = max(len(psus), 1)
        codes, pairs = pd.factorize(stratum * size + psu)
        return codes, strata[pairs // size], psus[pairs % size]

    @cached_property
    def agency_months(self) -> tuple[np.ndarray, list[int], list[str]]:
        """Each row's agency × month pair, and the pairs' agencies and months (shared by every domain)."""
        # Each key factorised on its own and the codes combined: a MultiIndex of the pairs cost 30 times more.
        agency, agencies = pd.factorize(self.table["agency"])
        month, months = pd.factorize(self.table["month"])
        size = max(len(months), 1)
        codes, pairs = pd.factorize(agency * size + month)
        return codes, agencies[pairs // size].tolist(), months[pairs % size].tolist()


def _design_table(version, questionnaire, filters: ReportFilters) -> dict:
    weighted = filters.weighting != "unweighted"
    report_cells.ensure_built(version.id)
    # Without a service filter the rows also carry their verified responses (the overview's counts).
    table = report_cells.cells_table(version.id, questionnaire, filters.cell_where(), weighted,
                                     domain=filters.cell_domain(),
                                     rating_sums=filters.measure == "mean-score",
                                     verified=filters.service is None)
    if filters.service is None:
        return table
    # Cells are not split by service (that would multiply them): the service's responses
    # are aggregated directly. The rows of every cell (with the channel and verified
    # conditions) stay as rows outside the domain, so all PSUs stay in the design; what
    # they hold does not matter, they get no weight.
    subset = psu_totals_table(version.id, questionnaire, by=("agency", "month"),
                              where=filters.cleaning() + filters.domain(), weighted=weighted)
    subset["agency"] = subset["agency"].astype(np.int64)
    subset["inside"] = np.ones(len(subset["n"]), dtype=bool)
    table["inside"] = np.zeros(len(table["n"]), dtype=bool)
    return {name: np.concatenate([subset[name], table[name]]) for name in table}


def load_design(version: QuestionnaireVersion, filters: ReportFilters, version_key: tuple) -> Design:
    """The aggregate table of a version under the filters' data conditions.

    Summed from the report cells, which every writer keeps up to date in its own
    transaction (app.services.reports.cells), so a new worker, a restart or a new
    filter costs a GROUP BY over the cells, not over every response. Kept in
    memory per data version.
    """
    questionnaire = questionnaire_of(version)
    # The table depends on the database, its responses (MAX(id), the latest review) and the data filters only.
    key = (*version_key[:3], version.id, filters.data_key(), _GENERATION[0])

    def compute() -> Design:
        table = _design_table(version, questionnaire, filters)
        return Design(version.version, version.id, questionnaire, IndexSpec.from_questionnaire(questionnaire),
                      table, tuple(sorted(set(table["month"].tolist()))), time.time())

    return DESIGNS.get_or_compute(key, compute)


def default_period(months: tuple[str, ...], filters: ReportFilters) -> tuple[str, str]:
    """The chosen period, or the last 12 months with data."""
    if not months:
        today = current_month()
        return filters.start or today, filters.end or today
    end = filters.end or months[-1]
    start = filters.start or shift_month(end, -11)
    return (start, end) if start <= end else (end, start)


def shift_month(month: str, delta: int) -> str:
    """'YYYY-MM' moved by delta months."""
    index = int(month[:4]) * 12 + int(month[5:]) - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(start: str, end: str) -> int:
    """Number of months from start to end inclusive."""
    return (int(end[:4]) - int(start[:4])) * 12 + int(end[5:]) - int(start[5:]) + 1


# ---------------------------------------------------------------- estimation over domains


@dataclass(frozen=True)
class Domains:
    """Totals with a domain label per group; out-of-domain cells weigh zero."""

    totals: object
    calibration: object
    note: str | None


def _cell_labels(design: Design, label_of: Callable[[int, str], str | None]) -> np.ndarray:
    """A domain label per table row; rows outside every domain get OUT."""
    # One call of label_of per distinct agency × month (12,000), not per row (120,000).
    codes, agencies, months = design.agency_months
    pairs = zip(agencies, months, strict=True)
    labels = np.array([label_of(agency, month) or OUT for agency, month in pairs], dtype=object)
    out = labels[codes] if len(codes) else np.empty(0, dtype=object)
    # Rows outside the data filters' domain (a service, a channel, verified only).
    out[~design.table["inside"]] = OUT
    return out


def _per_domain_psu(design: Design, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The design table summed per domain label × PSU: the rows totals_from_table adds into one cell.

    One bincount per column adds each cell's rows in table order, as totals_from_table
    would; it then finds one row per cell, so the totals are the same to the last bit,
    from a tenth of the rows (the months and agencies of a domain are added here once
    per column, not there once per criterion in a strided column of 120,000 rows).
    """
    label, values = pd.factorize(labels)
    psu, strata, psus = design.psus
    size = max(len(psus), 1)
    cell, uniques = pd.factorize(label * size + psu)
    table = {"group": values[uniques // size], "stratum": strata[uniques % size], "psu": psus[uniques % size]}
    # Every row its own cell (a domain per month, as the trend's): numbered in row order, so the
    # sums are the columns themselves (0 + x = x), without a pass per column.
    alone = len(uniques) == len(cell)
    for name, column in design.table.items():
        if name not in _ROW_KEYS:
            table[name] = (np.asarray(column, dtype=float) if alone
                           else np.bincount(cell, weights=column, minlength=len(uniques)))
    return table


def _overall_only(table: dict, spec: IndexSpec) -> tuple[dict, IndexSpec]:
    """The table with each element's criteria added into one criterion, and its spec: the same
    OVERALL (and element) estimates from a fifth of the columns, for the trend, which shows only
    OVERALL. The sums are those analysis makes per cell (a row of the criteria, added along it),
    so when every row is its own cell the results are the same to the last bit."""
    out = {name: column for name, column in table.items() if "__" not in name or name.endswith("__n")
           and name.removesuffix("__n") not in spec.criteria}
    elements = []
    # The satisfied measure (the only one this serves) reads no rating sums.
    zeros = np.zeros(len(table["n"]))
    for element in spec.elements:
        code = f"{element.code}__all"
        out[f"{code}__wr"] = zeros
        for suffix in ("ws", "wa"):
            block = np.column_stack([np.asarray(table[f"{k}__{suffix}"], dtype=float)
                                     for k in element.criteria])
            out[f"{code}__{suffix}"] = block.sum(axis=1)
        out[f"{code}__n"] = table[f"{element.code}__n"]  # a criterion's n, never reported here
        elements.append(replace(element, criteria=(code,)))
    return out, replace(spec, elements=tuple(elements))


def build_domains(design: Design, labels: np.ndarray, filters: ReportFilters,
                  population: Mapping[str, float] | None = None, overall_only: bool = False) -> Domains:
    """PsuTotals grouped by domain label, calibrated to dossier volumes when asked.

    With `overall_only` (the satisfied measure, no calibration, every row its own cell), the
    totals hold one criterion per element: only the OVERALL and element records are meaningful.
    """
    table = _per_domain_psu(design, labels)
    note = None
    calibration = None
    spec = design.spec
    if (overall_only and filters.measure == "satisfied" and filters.weighting != "poststratified"
            and len(table["n"]) == len(labels)):
        table, spec = _overall_only(table, spec)
    if filters.weighting == "poststratified" and population:
        table["pscell"] = table["group"]
        totals = totals_from_table(table, spec, by=["group"], calibration=["pscell"])
        calibration, note = _poststratify(totals, population)
        if calibration is not None:
            totals = calibration.apply(totals)
    else:
        totals = totals_from_table(table, spec, by=["group"])
        if filters.weighting == "poststratified":
            note = "no-volumes"
    inside = np.asarray(totals.group_labels[0], dtype=object)[totals.cell_group] != OUT
    return Domains(totals.with_weights(inside.astype(float)), calibration, note)


def _poststratify(totals, population: Mapping[str, float]):
    """Calibrate each domain's weights to its dossiers; domains without volumes keep theirs."""
    labels = [str(v) for v in totals.calib_labels[0]]
    w = np.bincount(totals.cell_calib, weights=totals.w, minlength=len(labels))
    targets = [population.get(label) or w[i] for i, label in enumerate(labels)]
    missing = sum(1 for label in labels if label != OUT and not population.get(label))
    try:
        calibration = poststratify(totals, {"pscell": labels, "total": targets}, ["pscell"])
    except AnalysisError:
        return None, "no-volumes"
    return calibration, ("partial-volumes" if missing else None)


def estimate(domains: Domains, filters: ReportFilters) -> list[dict]:
    """FORMATS.md §4 records (plus flags) of every domain but OUT."""
    with np.errstate(all="ignore"):
        table = estimate_indices(domains.totals, measure=filters.measure, calibration=domains.calibration,
                                 rules=RULES)
    return [r for r in table.records() if r["by"]["group"] != OUT]


def answered_groups(domains: Domains) -> set[str]:
    """Domains (but OUT) whose OVERALL record has n > 0, without estimating anything.

    The OVERALL n is the domain's responses answering any criterion (analysis.estimate.linearise).
    """
    totals = domains.totals
    n = np.rint(np.bincount(totals.cell_group, weights=totals.n_any, minlength=totals.n_groups))
    labels = totals.group_labels[0]
    return {str(label) for label, count in zip(labels, n, strict=True) if count and label != OUT}


def versus_scope(domains: Domains, filters: ReportFilters,
                 codes: tuple[str, ...] = ("OVERALL",)) -> dict[tuple[str, str], dict]:
    """Each domain minus the scope's average for some statistics: {(group, code): difference}.

    analysis.compare.compare_to_all, restricted to the statistics asked for and
    chunked: with 1,000 agencies and 10,000 PSUs all 28 statistics cost 28 times more.
    """
    totals = domains.totals
    with np.errstate(all="ignore"):
        lin = linearise(totals, filters.measure)
        cols = [lin.codes.index(c) for c in codes if c in lin.codes]
        whole_t = pooled(totals)
        whole = linearise(whole_t, filters.measure)
        z_all = psu_influence(whole_t, whole.u[:, cols], np.array([0]), domains.calibration)[:, 0, :]
        var = np.empty((totals.n_groups, len(cols)))
        for groups in _chunks(totals.n_groups, max(1, CHUNK_VALUES // max(totals.n_psu * len(cols), 1))):
            z = psu_influence(totals, lin.u[:, cols], groups, domains.calibration) - z_all[:, None, :]
            var[groups] = dense_variance(z.reshape(totals.n_psu, -1), totals.psu_stratum).reshape(
                len(groups), -1)
        est = lin.estimate[:, cols] - whole.estimate[0, cols]
        df = np.broadcast_to(group_df(totals).astype(float)[:, None], est.shape)
    labels = [str(v) for v in totals.group_labels[0]]
    return _differences(labels, [lin.codes[j] for j in cols], est, var, df)


def pairwise(domains: Domains, filters: ReportFilters, pairs: list[tuple[str, str]],
             codes: tuple[str, ...] | None = None) -> dict[tuple[str, str], dict]:
    """For each pair (a, b), a minus b: {(a, code): difference} (analysis.compare.compare_groups, chunked)."""
    if not pairs:
        return {}
    totals = domains.totals
    index = {str(v): g for g, v in enumerate(totals.group_labels[0])}
    idx = np.array([[index[a], index[b]] for a, b in pairs], dtype=np.int64)
    with np.errstate(all="ignore"):
        lin = linearise(totals, filters.measure)
        cols = list(range(len(lin.codes))) if codes is None else [lin.codes.index(c) for c in codes
                                                                   if c in lin.codes]
        var = np.empty((len(pairs), len(cols)))
        step = max(1, CHUNK_VALUES // max(2 * totals.n_psu * len(cols), 1))
        for rows in _chunks(len(pairs), step):
            z = psu_influence(totals, lin.u[:, cols], idx[rows].ravel(), domains.calibration)
            zd = z[:, 0::2, :] - z[:, 1::2, :]
            var[rows] = dense_variance(zd.reshape(totals.n_psu, -1), totals.psu_stratum).reshape(
                len(rows), -1)
        est = lin.estimate[idx[:, 0]][:, cols] - lin.estimate[idx[:, 1]][:, cols]
        df = np.broadcast_to(_pair_df(totals, list(idx))[:, None], est.shape)
    return _differences([a for a, _ in pairs], [lin.codes[j] for j in cols], est, var, df)


RANK_DRAWS = 2000
RANK_SEED = 20171  # fixed: the same data give the same rank intervals on every page and export


def rank_units(domains: Domains, filters: ReportFilters, code: str,
               labels: list[str]) -> dict[str, tuple[int, int, int]]:
    """Rank (1 = best), and the 95% rank interval, of some domains on one statistic.

    analysis.compare.rank_intervals on the domains' design-based covariance (they share
    PSUs): the rank of each domain among those given, as SIPAS publishes it.
    """
    totals = domains.totals
    index = {str(v): g for g, v in enumerate(totals.group_labels[0])}
    # In the table's group order, as analysis.compare.rank_groups draws them: the same intervals.
    labels = sorted((label for label in set(labels) if label in index), key=index.__getitem__)
    if not labels:
        return {}
    with np.errstate(all="ignore"):
        lin = linearise(totals, filters.measure)
        if code not in lin.codes:
            return {}
        j = lin.codes.index(code)
        groups = np.array([index[label] for label in labels], dtype=np.int64)
        est = lin.estimate[groups, j]
        z = psu_influence(totals, lin.u[:, [j]], groups, domains.calibration)[:, :, 0]
        cov = covariance(z, totals.psu_stratum)
    order, low, high = rank_intervals(est, cov, np.random.default_rng(RANK_SEED), draws=RANK_DRAWS)
    return {label: (int(order[i]), int(low[i]), int(high[i])) for i, label in enumerate(labels)}


def _chunks(n: int, step: int) -> list[np.ndarray]:
    return [np.arange(start, min(n, start + step)) for start in range(0, n, step)]


def _differences(labels, codes, est, var, df, ci_level: float = 0.95) -> dict[tuple[str, str], dict]:
    """Percent-point differences with t-intervals and two-sided p-values (as analysis.compare)."""
    se = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(all="ignore"):
        t = np.where(df >= 1, special.stdtrit(np.maximum(df, 1), 1 - (1 - ci_level) / 2), np.nan)
        tstat = np.where(se > 0, est / se, np.where(est == 0, 0.0, np.inf))
        p = np.where(df >= 1, 2 * special.stdtr(np.maximum(df, 1), -np.abs(tstat)), np.nan)
    out = {}
    for g, label in enumerate(labels):
        if label == OUT:
            continue
        for j, code in enumerate(codes):
            out[(label, code)] = {"estimate": _num(100 * est[g, j]), "se": _num(100 * se[g, j]),
                                  "ci_low": _num(100 * (est[g, j] - t[g, j] * se[g, j])),
                                  "ci_high": _num(100 * (est[g, j] + t[g, j] * se[g, j])),
                                  "p": _num(p[g, j])}
    return out


def between(domains: Domains, filters: ReportFilters, a: str, b: str) -> dict[str, dict]:
    """Domain a minus domain b per statistic: {code: {estimate, ci_low, ci_high, p}}."""
    return {code: value for (_, code), value in pairwise(domains, filters, [(a, b)]).items()}


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def significance(difference: dict | None) -> str:
    """'above', 'below' or 'same' at the 5% level (two-sided)."""
    if not difference or difference["p"] is None or difference["estimate"] is None:
        return "same"
    if difference["p"] >= SIGNIFICANCE:
        return "same"
    return "above" if difference["estimate"] > 0 else "below"


def with_filters(filters: ReportFilters, **changes) -> ReportFilters:
    """A copy of the filters with some fields changed."""
    return replace(filters, **changes)


def default_root(user) -> int | None:
    """The top agency of a user's scope (the first by code), None when the scope is empty."""
    from app.services.registry.scope import visible_agency_ids

    tree = load_tree()
    roots = scope_roots(tree, visible_agency_ids(user))
    return min(roots, key=lambda a: tree.code[a]) if roots else None


def build_cells(clock: Callable[[], float], force: bool = False) -> list[tuple[str, int, float]]:
    """Build the report cells of every version with responses (all of them when `force`)."""
    out = []
    for code in questionnaire_codes():
        for version in versions_with_responses(code):
            started = clock()
            if force:
                report_cells.rebuild(version.id)
            else:
                report_cells.ensure_built(version.id)
            out.append((code, version.version, clock() - started))
    invalidate()
    return out
