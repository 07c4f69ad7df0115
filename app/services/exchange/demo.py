"""A realistic, deterministic demo province with a year of responses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select

from analysis.questionnaire import Question, Questionnaire
from app.extensions import db
from app.models import Agency, Response, Service, ServicePoint, slot_column
from app.services.exchange import demo_org
from app.services.questionnaires.versions import (
    latest_published,
    load_standard_questionnaires,
    questionnaire_of,
    rating_slots,
)
from app.services.reports import cells as report_cells

# Ordinal-probit cut points: a latent satisfaction is turned into ratings 1..5.
CUTS = np.array([-1.9, -1.1, -0.25, 0.95])
# Element effects: citizens rate staff best and feedback handling worst, as SIPAS reports.
ELEMENT_EFFECTS = {"E1": 0.0, "E2": -0.1, "E3": 0.3, "E4": 0.15, "E5": -0.3}
MISSING_RATE = {"E5": 0.15}
DEFAULT_MISSING = 0.03


@dataclass(frozen=True)
class DemoSummary:
    """What `flask demo` created."""

    agencies: int
    counters: int
    services: int
    responses: int


def database_is_empty() -> bool:
    """True when no agency exists yet (then `make run` loads the demo)."""
    return db.session.scalar(select(func.count()).select_from(Agency)) == 0


def previous_month(today: date) -> date:
    """The first day of the month before `today`'s."""
    first = today.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def build_demo(seed: int = 2024, responses: int = 50_000, end_month: date | None = None) -> DemoSummary:
    """Create the demo province and `responses` responses over the 12 months to `end_month`."""
    rng = np.random.default_rng(seed)
    load_standard_questionnaires()
    services = _create_services()
    counters = _create_agencies_and_counters(rng, services)
    end_month = end_month or previous_month(date.today())
    count = _create_responses(rng, counters, responses, end_month)
    db.session.flush()
    agencies = db.session.scalar(select(func.count()).select_from(Agency))
    return DemoSummary(agencies, len(counters), sum(map(len, services.values())), count)


def _create_services() -> dict[str, list[Service]]:
    by_level: dict[str, list[Service]] = {}
    for code, name_vi, name_en, level in demo_org.SERVICES:
        service = Service(code=code, name_vi=name_vi, name_en=name_en)
        db.session.add(service)
        by_level.setdefault(level, []).append(service)
    return by_level


def _agency(code: str, names: tuple[str, str], level: str, parent: Agency | None) -> Agency:
    agency = Agency(code=code, name_vi=names[0], name_en=names[1], level=level, parent=parent)
    db.session.add(agency)
    return agency


def _counter(agency: Agency, number: int, services: list[Service], questionnaire_id: int):
    counter = ServicePoint(
        code=f"{agency.code}-Q{number}",
        agency=agency,
        name_vi=f"Quầy số {number}",
        name_en=f"Counter {number}",
        services=services,
        questionnaire_id=questionnaire_id,
    )
    db.session.add(counter)
    return counter


def _create_agencies_and_counters(rng, services: dict[str, list[Service]]) -> list[ServicePoint]:
    full = latest_published("sipas-2017").questionnaire_id
    short = latest_published("sipas-short").questionnaire_id
    province = _agency("DEMO", ("Tỉnh Sông Xanh (dữ liệu mẫu)", "Song Xanh Province (demo)"),
                       "province", None)
    counters = [_counter(province, 1, services["department"][:4], full)]
    dept_services = services["department"]
    for i, names in enumerate(demo_org.DEPARTMENTS, start=1):
        dept = _agency(f"DEMO-S{i:02d}", names, "department", province)
        offered = [dept_services[(i - 1) % len(dept_services)], dept_services[i % len(dept_services)]]
        for n in range(1, 1 + int(rng.integers(1, 4))):
            counters.append(_counter(dept, n, offered, full))
    communes_left, stems = 100, demo_org.COMMUNE_STEMS
    for d, names in enumerate(demo_org.DISTRICTS, start=1):
        district = _agency(f"DEMO-H{d:02d}", names, "district", province)
        for n in range(1, 4):
            counters.append(_counter(district, n, services["district"], full))
        n_communes = communes_left // (len(demo_org.DISTRICTS) - d + 1)
        communes_left -= n_communes
        for c in range(1, n_communes + 1):
            stem = stems[(d * 7 + c) % len(stems)]
            suffix = demo_org.COMMUNE_SUFFIXES[(d + c) % len(demo_org.COMMUNE_SUFFIXES)]
            kind = ("Phường", "Ward") if d <= 2 else ("Xã", "Commune")
            commune = _agency(
                f"DEMO-H{d:02d}-X{c:02d}",
                (f"{kind[0]} {stem} {suffix}", f"{stem} {suffix} {kind[1]}"),
                "commune",
                district,
            )
            form = short if rng.random() < 0.3 else full
            counters.append(_counter(commune, 1, services["commune"], form))
    db.session.flush()
    return counters


def _month_starts(end_month: date) -> list[date]:
    months = []
    year, month = end_month.year, end_month.month
    for _ in range(12):
        months.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def _create_responses(rng, counters: list[ServicePoint], total: int, end_month: date) -> int:
    n_counters = len(counters)
    # Busy counters (province and district centres) collect far more answers.
    size = np.array([{"province": 6.0, "department": 2.0, "district": 3.0, "commune": 0.7}[
        c.agency.level] for c in counters]) * rng.lognormal(0, 0.5, n_counters)
    counter_idx = rng.choice(n_counters, size=total, p=size / size.sum())
    months = _month_starts(end_month)
    month_idx = rng.integers(0, 12, size=total)
    agency_effect = rng.normal(0, 0.35, n_counters)
    # A slow improvement over the year with a dip in the Tet month (index 2 or so).
    month_effect = np.linspace(-0.12, 0.12, 12) - 0.15 * (np.arange(12) == 2)
    person = rng.normal(0, 0.55, total) + agency_effect[counter_idx] + month_effect[month_idx]
    rows = _design_columns(rng, counters, counter_idx, months, month_idx)
    for version_id in {c.questionnaire_id for c in counters}:
        version = latest_published_by_id(version_id)
        questionnaire = questionnaire_of(version)
        mask = np.array([counters[i].questionnaire_id == version_id for i in counter_idx])
        _fill_answers(rng, rows, np.flatnonzero(mask), questionnaire, person, version.id)
    _insert(rows)
    return total


def latest_published_by_id(questionnaire_id: int):
    """The latest published version of a questionnaire given its row id."""
    from app.models import Questionnaire as QuestionnaireRow

    code = db.session.get(QuestionnaireRow, questionnaire_id).code
    return latest_published(code)


def _design_columns(rng, counters, counter_idx, months, month_idx) -> list[dict]:
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    total = len(counter_idx)
    day = rng.integers(0, 28, total)
    minute = rng.integers(7 * 60 + 30, 17 * 60, total)
    second = rng.integers(0, 60, total)
    channel = rng.choice(["qr", "kiosk", "paper"], size=total, p=[0.7, 0.15, 0.15])
    verified = rng.random(total) < 0.2
    suspicious = rng.random(total) < 0.01
    # Design weight = dossiers handled / responses in the counter-month cell.
    dossiers_per_response = rng.uniform(3, 12, len(counters) * 12)
    weight = np.round(dossiers_per_response[counter_idx * 12 + month_idx], 4)
    rows = []
    for i in range(total):
        counter = counters[counter_idx[i]]
        month = months[month_idx[i]]
        local = datetime(month.year, month.month, 1 + int(day[i]), tzinfo=tz) + timedelta(
            minutes=int(minute[i]), seconds=int(second[i]))
        agency = counter.agency
        stratum = agency.code[:8] if agency.level in ("district", "commune") else "DEMO-PROV"
        services = counter.services
        rows.append({
            "uid": f"demo-{i + 1:06d}",
            "agency_id": agency.id,
            "service_point_id": counter.id,
            "service_id": services[int(rng.integers(0, len(services)))].id if services else None,
            "channel": str(channel[i]),
            "submitted_at": local.astimezone(UTC),
            "received_at": local.astimezone(UTC),
            "stratum": stratum,
            "psu": f"{counter.code}/{month:%Y-%m}",
            "weight": float(weight[i]),
            "verified": bool(verified[i]),
            "suspicious": bool(suspicious[i]),
            "assisted": False,
            "answers": {},
        })
    return rows


def _element_of(question: Question, questionnaire: Questionnaire) -> str | None:
    if question.element:
        return question.element
    prefix = question.code.split("_")[0]
    return prefix if prefix in {e.code for e in questionnaire.elements} else None


def _ratings(rng, latent: np.ndarray) -> np.ndarray:
    return 1 + np.searchsorted(CUTS, latent + rng.normal(0, 0.5, latent.shape))


def _fill_answers(rng, rows, index, questionnaire: Questionnaire, person, version_id) -> None:
    slots = rating_slots(questionnaire)
    latent = person[index]
    overall = np.zeros(len(index))
    for question in questionnaire.all_questions():
        element = _element_of(question, questionnaire)
        if question.type == "likert":
            base = latent + 0.4 + ELEMENT_EFFECTS.get(element or "", 0.15)
            ratings = _ratings(rng, base)
            overall += ratings
            missing = rng.random(len(index)) < MISSING_RATE.get(element or "", DEFAULT_MISSING)
            column = slot_column(slots[question.code])
            for k, row in enumerate(index):
                rows[row][column] = None if missing[k] else int(ratings[k])
        else:
            _fill_other(rng, rows, index, question, latent)
    if questionnaire.has_conditions():
        _drop_skipped(rows, index, questionnaire, slots)
    for row in index:
        rows[row]["version_id"] = version_id


def _drop_skipped(rows, index, questionnaire: Questionnaire, slots: dict[str, int]) -> None:
    """Skip logic: a question whose show_if is not met has no answer, as the form would send."""
    for row in index:
        data = rows[row]
        given = {code: data.get(slot_column(slot)) for code, slot in slots.items()}
        given.update({code: tuple(v) if isinstance(v, list) else v for code, v in data["answers"].items()})
        for code in questionnaire.skipped(given):
            if code in slots:
                data[slot_column(slots[code])] = None
            else:
                data["answers"].pop(code, None)


def _fill_other(rng, rows, index, question: Question, latent) -> None:
    values = [option.value for option in question.options]
    for k, row in enumerate(index):
        if question.type == "text":
            if rng.random() < 0.08:
                pool = demo_org.NEGATIVE_COMMENTS if latent[k] < -0.2 else demo_org.POSITIVE_COMMENTS
                rows[row]["answers"][question.code] = pool[int(rng.integers(0, len(pool)))]
        elif question.type == "yesno":
            # Most who rate also gave feedback (SIPAS's element 5 asks only them).
            rows[row]["answers"][question.code] = bool(rng.random() < 0.85)
        elif question.type == "single" and rng.random() < 0.6:
            rows[row]["answers"][question.code] = values[int(rng.integers(0, len(values)))]
        elif question.type == "multi" and rng.random() < 0.5:
            picked = rng.choice(len(values), size=min(2, len(values)), replace=False)
            rows[row]["answers"][question.code] = [values[i] for i in sorted(picked)]


def _insert(rows: list[dict]) -> None:
    columns = [c.name for c in Response.__table__.columns if c.name != "id"]
    for start in range(0, len(rows), 5000):
        batch = [{name: row.get(name) for name in columns} for row in rows[start:start + 5000]]
        db.session.execute(Response.__table__.insert(), batch)
        report_cells.add_uids([row["uid"] for row in batch])
