"""A campaign's design-weighted estimates, and the counters' estimate for the same agencies and period.

Weights follow from the design (analysis.sampling): 1/π for every sampled dossier, adjusted for
non-response within its stratum (the weighting class), optionally post-stratified to the frame's
dossier counts per agency and procedure group. The estimators are analysis.estimate's, with each
answer its own PSU, the campaign's strata as strata and the finite population correction 1 − n_h/N_h.
The counters' estimate comes from the reports' own machinery (app.services.reports) over the months
the campaign's period touches; the difference of two independent samples is tested with a z test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select

from analysis.compare import pooled
from analysis.errors import AnalysisError
from analysis.estimate import estimate_indices
from analysis.sampling import design_weights, with_fpc
from analysis.spec import IndexSpec
from analysis.totals import totals_from_rows
from analysis.weighting import poststratify
from app.extensions import db
from app.models import Agency, Campaign, CampaignSample, CampaignStratum, Dossier, Response, slot_column
from app.services.campaigns.planning import frame_conditions
from app.services.questionnaires.versions import questionnaire_of, rating_slots

# Two-sided level of the campaign − counters test.
SIGNIFICANCE = 0.05


@dataclass
class DomainEstimate:
    """One domain's OVERALL index: campaign (design-based), counters, and their difference."""

    level: str  # "overall", "stratum" or "agency"
    key: str
    agency_id: int | None
    sampled: int
    responded: int
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    deff: float | None
    counter: dict | None = None
    difference: float | None = None
    difference_se: float | None = None
    z: float | None = None
    p: float | None = None

    @property
    def response_rate(self) -> float | None:
        """Answers per 100 sampled dossiers."""
        return 100.0 * self.responded / self.sampled if self.sampled else None

    @property
    def significant(self) -> bool:
        """Whether the campaign and counters differ at the 5 % level."""
        return self.p is not None and self.p < SIGNIFICANCE


@dataclass
class CampaignEstimates:
    """Everything the campaign report shows."""

    campaign: Campaign
    poststratified: bool
    note: str | None
    months: tuple[str, str]
    domains: list[DomainEstimate] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)  # every statistic of the whole campaign
    element_titles: dict[str, dict[str, str]] = field(default_factory=dict)  # code -> {lang: title}
    empty_strata: list[str] = field(default_factory=list)

    def elements(self, lang: str) -> list[dict]:
        """The whole campaign's element and overall records, each with its title in a language."""
        out = []
        for record in self.records:
            if record["level"] in ("element", "overall"):
                titles = self.element_titles.get(record["code"], {})
                out.append({**record, "title": titles.get(lang) or titles.get("vi") or record["code"]})
        return out

    def domain(self, level: str, key: str) -> DomainEstimate | None:
        """The row of one domain."""
        return next((d for d in self.domains if d.level == level and d.key == key), None)


@dataclass
class _Sample:
    """The campaign's sampled dossiers and, for those who answered, their ratings."""

    key: np.ndarray
    agency: np.ndarray
    agency_id: np.ndarray
    cell: np.ndarray
    probability: np.ndarray
    responded: np.ndarray
    ratings: np.ndarray  # (sampled, criteria), NaN where no answer


def _sample(campaign: Campaign, spec: IndexSpec, questionnaire) -> _Sample:
    slots = rating_slots(questionnaire)
    rating_columns = [getattr(Response, slot_column(slots[code])) for code in spec.criteria]
    rows = db.session.execute(
        select(CampaignStratum.key, Agency.code, Dossier.agency_id, Dossier.procedure_group,
               CampaignSample.inclusion_probability, Response.id, *rating_columns)
        .join(CampaignStratum, CampaignStratum.id == CampaignSample.stratum_id)
        .join(Dossier, Dossier.id == CampaignSample.dossier_id)
        .join(Agency, Agency.id == Dossier.agency_id)
        .outerjoin(Response, (Response.id == CampaignSample.response_id) & Response.voided_at.is_(None)
                   & (Response.campaign_id == campaign.id))
        .where(CampaignSample.campaign_id == campaign.id)
        .order_by(CampaignSample.id)).all()
    ratings = np.array([[np.nan if v is None else float(v) for v in row[6:]] for row in rows], dtype=float)
    return _Sample(
        key=np.array([r[0] for r in rows], dtype=object), agency=np.array([r[1] for r in rows], dtype=object),
        agency_id=np.array([r[2] for r in rows], dtype=np.int64),
        cell=np.array([f"{r[1]}/{r[3] or '-'}" for r in rows], dtype=object),
        probability=np.array([r[4] for r in rows], dtype=float),
        responded=np.array([r[5] is not None for r in rows], dtype=bool),
        ratings=ratings.reshape(len(rows), len(spec.criteria)))


def _frame_cells(campaign: Campaign) -> dict[str, int]:
    """Dossiers of the frame per agency × procedure group (the post-strata's population)."""
    rows = db.session.execute(
        select(Agency.code, Dossier.procedure_group, func.count())
        .join(Agency, Agency.id == Dossier.agency_id)
        .where(*frame_conditions(campaign)).group_by(Agency.code, Dossier.procedure_group)).all()
    out: dict[str, int] = {}
    for agency, group, n in rows:
        cell = f"{agency}/{group or '-'}"
        out[cell] = out.get(cell, 0) + n
    return out


def campaign_estimates(campaign: Campaign, *, poststratified: bool = False,
                       with_counters: bool = True) -> CampaignEstimates:
    """The campaign's OVERALL index overall, per stratum and per agency, with the counters' beside it."""
    version = campaign.version
    questionnaire = questionnaire_of(version)
    spec = IndexSpec.from_questionnaire(questionnaire)
    sample = _sample(campaign, spec, questionnaire)
    months = (campaign.period_start.strftime("%Y-%m"), campaign.period_end.strftime("%Y-%m"))
    out = CampaignEstimates(campaign, False, None, months)
    out.element_titles = {e.code: dict(e.title) for e in questionnaire.elements}
    if not sample.responded.any():
        out.note = "no-answers"
        _counts_only(out, sample)
        return out
    keys = sorted(set(sample.key.tolist()))
    classes = np.array([keys.index(k) for k in sample.key], dtype=np.int64)
    weights = design_weights(sample.probability, sample.responded, classes)
    out.empty_strata = [keys[h] for h in weights.empty_classes.tolist()]
    r = sample.responded
    population = {s.key: s.population for s in campaign.strata}

    def totals_by(by_name: str, by_values: np.ndarray, calibrate: bool):
        totals = totals_from_rows(sample.ratings[r], spec, weight=weights.adjusted[r], stratum=sample.key[r],
                                  by={by_name: by_values[r]},
                                  calibration={"cell": sample.cell[r]} if calibrate else None)
        present = sorted(set(sample.key[r].tolist()))
        return with_fpc(totals, [population[k] for k in present])

    calibration, note = None, None
    if poststratified:
        frame_cells = _frame_cells(campaign)
        try:
            probe = totals_by("stratum", sample.key, True)
            cells = sorted(frame_cells)
            calibration = poststratify(probe, {"cell": cells, "total": [frame_cells[c] for c in cells]},
                                       ["cell"])
        except AnalysisError as error:
            note = f"poststratification-failed: {error}"
    out.poststratified, out.note = calibration is not None, note

    def table(by_name, by_values, whole=False):
        totals = totals_by(by_name, by_values, calibration is not None)
        if calibration is not None:
            totals = calibration.apply(totals)
        if whole:
            totals = pooled(totals)
        with np.errstate(all="ignore"):
            return estimate_indices(totals, calibration=calibration).records()

    whole = table("stratum", sample.key, whole=True)
    out.records = whole
    weight = weights.adjusted
    _add_domains(out, "overall", {"": whole}, sample, weight, lambda _k: np.ones(len(sample.key), bool))
    _add_domains(out, "stratum", _by_group(table("stratum", sample.key), "stratum"), sample, weight,
                 lambda k: sample.key == k)
    _add_domains(out, "agency", _by_group(table("agency", sample.agency), "agency"), sample, weight,
                 lambda k: sample.agency == k)
    codes = dict(zip(sample.agency.tolist(), sample.agency_id.tolist(), strict=True))
    for d in out.domains:
        d.agency_id = codes.get(d.key) if d.level == "agency" else (
            next((s.agency_id for s in campaign.strata if s.key == d.key), None) if d.level == "stratum"
            else campaign.agency_id)
    if with_counters:
        _add_counters(out, campaign, version)
    return out


def _by_group(records: list[dict], name: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for record in records:
        out.setdefault(str(record["by"][name]), []).append(record)
    return out


def _add_domains(out: CampaignEstimates, level: str, groups: dict[str, list[dict]], sample: _Sample,
                 weight: np.ndarray, members) -> None:
    for key, records in sorted(groups.items()):
        overall = next(rec for rec in records if rec["code"] == "OVERALL")
        inside = members(key)
        out.domains.append(DomainEstimate(
            level=level, key=key, agency_id=None, sampled=int(inside.sum()),
            responded=int((inside & sample.responded).sum()), estimate=overall["estimate"], se=overall["se"],
            ci_low=overall["ci_low"], ci_high=overall["ci_high"], n=int(overall["n"]),
            deff=_deff_without_replacement(overall, float(weight[inside].sum()))))


def _deff_without_replacement(record: dict, population: float) -> float | None:
    """The realised design effect against a simple random sample of the same size drawn without
    replacement from the domain's N dossiers (N = its weights' sum): v / ((1 − n/N) p(1 − p)/n).

    The report's deff (analysis.estimate) compares with p(1 − p)/n; the campaign's frame is finite
    and drawn without replacement, so the simple random sample it is compared with is too (R's
    svymean(..., deff = TRUE) makes the same choice, with n/(n − 1)·p(1 − p) for p(1 − p))."""
    deff, n = record["deff"], record["n"]
    if deff is None or not population or n >= population:
        return None
    return deff / (1 - n / population)


def _counts_only(out: CampaignEstimates, sample: _Sample) -> None:
    out.domains.append(DomainEstimate("overall", "", out.campaign.agency_id, len(sample.key), 0,
                                      None, None, None, None, 0, None))
    for key in sorted(set(sample.key.tolist())):
        inside = sample.key == key
        out.domains.append(DomainEstimate("stratum", key, None, int(inside.sum()), 0, None, None, None, None,
                                          0, None))


def _add_counters(out: CampaignEstimates, campaign: Campaign, version) -> None:
    """The counters' OVERALL index of the same agencies and months, and the z test of the difference."""
    from app.services.reports import estimates as rs
    from app.services.reports.pages import open_scope

    filters = rs.ReportFilters(questionnaire=version.questionnaire.code, start=out.months[0],
                               end=out.months[1])
    scope = open_scope(campaign.agency_id, filters)
    if scope.design is None or scope.design.empty:
        return
    tree, start, end = scope.tree, scope.start, scope.end
    stratum_agencies = {d.agency_id: d.key for d in out.domains if d.level == "agency"}

    def in_period(agency: int, month: str) -> bool:
        return agency in scope.ids and start <= month <= end

    def nearest(agency: int) -> str | None:
        for ancestor in reversed(tree.path(agency)):
            if ancestor in stratum_agencies:
                return stratum_agencies[ancestor]
        return None

    # "" is the overall domain's key; the reports need a label that is not empty
    labelings = {"overall": lambda a, m: "ALL" if in_period(a, m) else None,
                 "agency": lambda a, m: nearest(a) if in_period(a, m) else None}
    for level, label_of in labelings.items():
        domains = rs.build_domains(scope.design, rs._cell_labels(scope.design, label_of), filters)
        records = {str(rec["by"]["group"]): rec for rec in rs.estimate(domains, filters)
                   if rec["code"] == "OVERALL"}
        for d in out.domains:
            key = "ALL" if level == "overall" else d.key
            if d.level == level and key in records:
                _compare(d, records[key])


def _compare(d: DomainEstimate, counter: dict) -> None:
    """Independent samples: d = P_c − P_q, se = √(se_c² + se_q²), z = d/se, two-sided normal p."""
    d.counter = {k: counter[k] for k in ("estimate", "se", "ci_low", "ci_high", "n")}
    if d.estimate is None or counter["estimate"] is None or d.se is None or counter["se"] is None:
        return
    d.difference = d.estimate - counter["estimate"]
    d.difference_se = math.sqrt(d.se ** 2 + counter["se"] ** 2)
    if d.difference_se > 0:
        d.z = d.difference / d.difference_se
        d.p = math.erfc(abs(d.z) / math.sqrt(2))
