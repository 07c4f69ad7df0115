"""A questionnaire's per-cell sums over a period, from the responses with one GROUP BY, as a totals file.

The sums are those of the aggregate-table contract of analysis/totals.py, one row per agency × stratum ×
PSU [× calibration cell], over the responses the reports count: voided responses (issue 17) and an
official campaign's responses (issue 19, reported apart) are left out. A missing stratum is "-", a
missing PSU "#<response id>", a missing weight 1 (docs/FORMATS.md §2 and §3), so the numbers equal
what `python -m analysis` gives on the responses CSV of the same period. The report cells are not
read: they hold neither the campaign split nor calibration columns, and one scan of a year's responses
is a batch job's cost, not a page's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from flask import current_app
from sqlalchemy import Integer, String, and_, case, cast, func, or_, select

from analysis.questionnaire import Questionnaire
from analysis.spec import IndexSpec
from analysis.totals_file import UNIT_CODE, sign_totals, write_totals
from app.extensions import db
from app.models import Agency, QuestionnaireVersion, Response, slot_column
from app.models import Questionnaire as QuestionnaireRow
from app.services.questionnaires.versions import questionnaire_of, rating_slots
from app.services.reports.aggregates import local_month_start, report_timezone
from app.services.totals.keys import signing_key_pem

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
#: Calibration columns that are response columns rather than answers.
RESPONSE_COLUMNS = {"channel": Response.channel}


class TotalsExportError(Exception):
    """The request names something that does not exist or cannot be a calibration column."""


@dataclass(frozen=True)
class TotalsRequest:
    """Which sums to export: a questionnaire (code, version), a period of months, the unit's code."""

    month_from: str
    month_to: str
    survey: str | None = None
    version: int | None = None
    unit: str | None = None
    calibration: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class TotalsExport:
    """The file's bytes, its detached signature, and what it holds."""

    data: bytes
    signature: bytes
    unit: str
    survey: str
    version: int
    responses: int
    rows: int
    key_created: bool


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def _version(request: TotalsRequest) -> QuestionnaireVersion:
    query = (select(QuestionnaireVersion).join(QuestionnaireRow)
             .where(QuestionnaireVersion.status == "published"))
    if request.survey:
        query = query.where(QuestionnaireRow.code == request.survey)
    else:
        codes = db.session.scalars(select(QuestionnaireRow.code).join(QuestionnaireVersion)
                                   .where(QuestionnaireVersion.status == "published").distinct()).all()
        if len(codes) != 1:
            raise TotalsExportError(f"{len(codes)} questionnaires are published; name one with --survey")
    if request.version is not None:
        query = query.where(QuestionnaireVersion.version == request.version)
    version = db.session.scalars(query.order_by(QuestionnaireVersion.version.desc())).first()
    if version is None:
        wanted = f"{request.survey or ''} version {request.version}" if request.version else request.survey
        raise TotalsExportError(f"no published questionnaire {wanted!r}")
    return version


def _unit(request: TotalsRequest) -> str:
    unit = request.unit or current_app.config.get("TOTALS_UNIT") or ""
    if not unit:
        roots = db.session.scalars(select(Agency.code).where(Agency.parent_id.is_(None))).all()
        if len(roots) != 1:
            raise TotalsExportError(f"{len(roots)} top-level agencies; give the unit code with --unit "
                                    "or the TOTALS_UNIT setting")
        unit = roots[0]
    if not UNIT_CODE.fullmatch(unit):
        raise TotalsExportError(f"unit code {unit!r}: use 1 to 32 letters, digits, '_' or '-'")
    return unit


def _calibration_columns(questionnaire: Questionnaire, names: tuple[str, ...]) -> dict:
    out = {}
    for name in names:
        if name in RESPONSE_COLUMNS:
            out[name] = RESPONSE_COLUMNS[name]
            continue
        question = next((q for q in questionnaire.all_questions() if q.code == name), None)
        if question is None or question.type != "single":
            raise TotalsExportError(f"calibration column {name!r}: use channel or the code of a "
                                    f"single-choice question of {questionnaire.code}")
        # An unanswered question is the empty label, as an empty cell of the responses CSV.
        out[name] = func.coalesce(Response.answers[name].as_string(), "")
    return out


def _answered_any(ratings: list):
    return func.coalesce(func.sum(case((or_(*(r.is_not(None) for r in ratings)), 1), else_=0)), 0)


def _total(expression):
    return func.coalesce(func.sum(expression), 0)


def totals_table(version: QuestionnaireVersion, questionnaire: Questionnaire, month_from: str, month_to: str,
                 calibration: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The aggregate table (analysis/totals.py) of a version's counted responses in [month_from, month_to]."""
    zone = report_timezone()
    start, end = local_month_start(month_from, zone), local_month_start(_next_month(month_to), zone)
    slots = rating_slots(questionnaire)
    satisfied = sorted(questionnaire.scale.satisfied)
    weight = func.coalesce(Response.weight, 1.0)
    # The criteria as the analysis reads them: likert questions inside elements (sipas-short's likert
    # OVERALL question is none; OVERALL__n counts the responses answering a criterion).
    criteria = IndexSpec.from_questionnaire(questionnaire).criteria
    ratings = {code: getattr(Response, slot_column(slots[code])) for code in criteria}
    calib = _calibration_columns(questionnaire, calibration)
    keys = [Agency.code.label("agency"), func.coalesce(Response.stratum, "-").label("stratum"),
            func.coalesce(Response.psu, "#" + cast(Response.id, String)).label("psu"),
            *(expression.label(name) for name, expression in calib.items())]
    measures = [func.count().label("n"), _total(weight).label("w")]
    for code, rating in ratings.items():
        is_sat = cast(func.coalesce(rating.in_(satisfied), False), Integer)
        measures += [_total(weight * is_sat).label(f"{code}__ws"),
                     _total(weight * cast(rating.is_not(None), Integer)).label(f"{code}__wa"),
                     _total(weight * func.coalesce(rating, 0)).label(f"{code}__wr"),
                     func.count(rating).label(f"{code}__n")]
    for element in questionnaire.elements:
        members = [ratings[q.code] for q in element.questions if q.code in ratings]
        if members:
            measures.append(_answered_any(members).label(f"{element.code}__n"))
    measures.append(_answered_any(list(ratings.values())).label("OVERALL__n"))
    query = (select(*keys, *measures).join(Agency, Agency.id == Response.agency_id)
             .where(and_(Response.version_id == version.id, Response.voided_at.is_(None),
                         Response.campaign_id.is_(None), Response.submitted_at >= start,
                         Response.submitted_at < end))
             .group_by(*keys))
    result = db.session.execute(query)
    names = list(result.keys())
    rows = result.all()
    text = {"agency", "stratum", "psu", *calib}
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return {name: (np.array([str(v) for v in values], dtype=object) if name in text
                   else np.array(values, dtype=np.int64 if name == "n" or name.endswith("__n") else float))
            for name, values in zip(names, columns, strict=True)}


def export_totals(request: TotalsRequest) -> TotalsExport:
    """The totals file of the request and its signature with this installation's key (made if missing)."""
    for month in (request.month_from, request.month_to):
        if not MONTH.fullmatch(month or ""):
            raise TotalsExportError(f"{month!r} is not a month like 2026-01")
    if request.month_from > request.month_to:
        raise TotalsExportError(f"the period runs backwards: {request.month_from} to {request.month_to}")
    version = _version(request)
    unit = _unit(request)
    questionnaire = questionnaire_of(version)
    table = totals_table(version, questionnaire, request.month_from, request.month_to, request.calibration)
    if not len(table["n"]):
        raise TotalsExportError(f"no responses to {questionnaire.code} version {version.version} "
                                f"from {request.month_from} to {request.month_to}")
    data = write_totals(table, definition=questionnaire.definition, unit=unit, period_from=request.month_from,
                        period_to=request.month_to, calibration=request.calibration,
                        timezone=report_timezone())
    private, created = signing_key_pem()
    return TotalsExport(data=data, signature=sign_totals(data, private), unit=unit, survey=questionnaire.code,
                        version=version.version, responses=int(table["n"].sum()), rows=len(table["n"]),
                        key_created=created)
