"""Keeping the organisation: agencies, services and counters, one by one or from CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Agency, Questionnaire, Service, ServicePoint, User
from app.models.org import AGENCY_LEVELS
from app.services.accounts.audit import record_event
from app.services.exchange.problems import Problem
from app.services.exchange.responses_csv import ImportReport
from app.services.registry.scope import visible_agency_ids

AGENCY_COLUMNS = ("code", "name_vi", "name_en", "level", "parent", "active")
SERVICE_COLUMNS = ("code", "name_vi", "name_en", "active")
COUNTER_COLUMNS = ("code", "agency", "name_vi", "name_en", "services", "questionnaire", "active")
LIMITS = {"code": 32, "name_vi": 200, "name_en": 200}
# A national installation's units are its top-level agencies, the provinces and the ministries.
MINISTRY_AT_TOP = "a ministry is a top-level agency: leave its parent empty"


class AdminError(ValueError):
    """A change to the organisation was refused; the message says why."""


# ---------------------------------------------------------------- reading


def list_agencies(user: User, include_inactive: bool = True) -> list[Agency]:
    """Agencies in the user's scope, by code."""
    query = select(Agency).order_by(Agency.code)
    visible = visible_agency_ids(user)
    if visible is not None:
        query = query.where(Agency.id.in_(visible))
    if not include_inactive:
        query = query.where(Agency.active.is_(True))
    return list(db.session.scalars(query))


def list_counters(user: User, agency_id: int | None = None) -> list[ServicePoint]:
    """Counters in the user's scope (optionally of one agency), with their agencies."""
    query = select(ServicePoint).options(joinedload(ServicePoint.agency)).order_by(ServicePoint.code)
    visible = visible_agency_ids(user)
    if visible is not None:
        query = query.where(ServicePoint.agency_id.in_(visible))
    if agency_id is not None:
        query = query.where(ServicePoint.agency_id == agency_id)
    return list(db.session.scalars(query))


def list_services() -> list[Service]:
    """Every service, by code."""
    return list(db.session.scalars(select(Service).order_by(Service.code)))


def questionnaire_choices() -> list[tuple[int, str]]:
    """Questionnaires a counter may use: those with a published version."""
    rows = db.session.scalars(select(Questionnaire).order_by(Questionnaire.code)).all()
    return [(q.id, q.code) for q in rows if any(v.status == "published" for v in q.versions)]


# ---------------------------------------------------------------- one at a time


@dataclass
class AgencyData:
    """The fields of an agency form."""

    code: str
    name_vi: str
    name_en: str
    level: str
    parent_id: int | None
    active: bool = True


def _code_taken(model, code: str, own_id: int | None) -> bool:
    found = db.session.scalar(select(model.id).where(model.code == code))
    return found is not None and found != own_id


def _would_loop(agency_id: int | None, parent_id: int | None) -> bool:
    seen = set()
    while parent_id is not None and parent_id not in seen:
        if parent_id == agency_id:
            return True
        seen.add(parent_id)
        parent_id = db.session.scalar(select(Agency.parent_id).where(Agency.id == parent_id))
    return False


def save_agency(agency: Agency | None, data: AgencyData, actor: User) -> Agency:
    """Create or update an agency (caller commits)."""
    own_id = agency.id if agency else None
    if _code_taken(Agency, data.code, own_id):
        raise AdminError(Problem("the code %(code)s is already used by another agency", code=data.code))
    if data.level not in AGENCY_LEVELS:
        raise AdminError(Problem("unknown level %(level)s", level=repr(data.level)))
    if data.level == "ministry" and data.parent_id is not None:
        raise AdminError(Problem(MINISTRY_AT_TOP))
    if own_id is not None and _would_loop(own_id, data.parent_id):
        raise AdminError(Problem("an agency cannot sit below itself"))
    agency = agency or Agency()
    created = agency.id is None
    for name in ("code", "name_vi", "name_en", "level", "parent_id", "active"):
        setattr(agency, name, getattr(data, name))
    db.session.add(agency)
    db.session.flush()
    record_event(actor, "agency.create" if created else "agency.update", agency.code)
    return agency


def set_active(row, active: bool, actor: User) -> None:
    """Deactivate (or reactivate) an agency, service or counter; nothing is deleted."""
    kind = {Agency: "agency", Service: "service", ServicePoint: "counter"}[type(row)]
    if row.active != active:
        row.active = active
        record_event(actor, f"{kind}.{'activate' if active else 'deactivate'}", row.code)


def save_service(service: Service | None, code: str, name_vi: str, name_en: str, actor: User) -> Service:
    """Create or update a service (caller commits)."""
    if _code_taken(Service, code, service.id if service else None):
        raise AdminError(Problem("the code %(code)s is already used by another service", code=code))
    created = service is None
    service = service or Service(active=True)
    service.code, service.name_vi, service.name_en = code, name_vi, name_en
    db.session.add(service)
    db.session.flush()
    record_event(actor, "service.create" if created else "service.update", code)
    return service


@dataclass
class CounterData:
    """The fields of a counter form."""

    code: str
    agency_id: int
    name_vi: str
    name_en: str
    questionnaire_id: int | None
    service_ids: list[int]
    active: bool = True


def save_counter(counter: ServicePoint | None, data: CounterData, actor: User) -> ServicePoint:
    """Create or update a counter (caller commits; the caller has checked the agency scope)."""
    if _code_taken(ServicePoint, data.code, counter.id if counter else None):
        raise AdminError(Problem("the code %(code)s is already used by another counter", code=data.code))
    created = counter is None
    counter = counter or ServicePoint()
    for name in ("code", "agency_id", "name_vi", "name_en", "questionnaire_id", "active"):
        setattr(counter, name, getattr(data, name))
    services = db.session.scalars(select(Service).where(Service.id.in_(data.service_ids))).all()
    counter.services = list(services)
    db.session.add(counter)
    db.session.flush()
    record_event(actor, "counter.create" if created else "counter.update", counter.code)
    return counter


# ---------------------------------------------------------------- CSV import


def _rows(stream: io.TextIOBase, source: str, columns: tuple[str, ...], required: tuple[str, ...],
          report: ImportReport) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number, cells) of a CSV after checking its header; errors go to the report."""
    reader = csv.reader(stream)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        report.add(Problem("the file is empty (a header row is required)", source=source, row=1))
        return
    for column in required:
        if column not in header:
            report.add(Problem("required column is missing", source=source, row=1, column=column))
    for column in header:
        if column not in columns:
            report.add(Problem("unknown column (expected %(columns)s)", source=source, row=1, column=column,
                               columns=", ".join(columns)))
    if not report.ok:
        return
    for number, cells in enumerate(reader, start=2):
        report.rows += 1
        if len(cells) != len(header):
            report.add(Problem("has %(cells)s cells, the header has %(header)s", source=source, row=number,
                               column="*", cells=len(cells), header=len(header)))
            continue
        yield number, {k: v.strip() for k, v in zip(header, cells, strict=True)}


def _read(stream, source, columns, required, report) -> list[tuple[int, dict[str, str]]]:
    try:
        return list(_rows(stream, source, columns, required, report))
    except (csv.Error, UnicodeDecodeError) as exc:
        report.add(Problem("cannot read CSV: %(reason)s", source=source, reason=str(exc)))
        return []


def _flag(text: str) -> bool | None:
    return {"": True, "yes": True, "1": True, "true": True, "no": False, "0": False, "false": False}.get(
        text.lower())


class _Errors:
    """Collects errors of one row with the file name, row and column."""

    def __init__(self, source: str, report: ImportReport):
        self.source, self.report = source, report

    def __call__(self, row: int, column: str, message: str, **params) -> None:
        """Record an error at a cell: `message` is an English msgid with %(name)s for `params`."""
        self.report.add(Problem(message, source=self.source, row=row, column=column, **params))

    def texts(self, row: int, cells: dict[str, str], names: tuple[str, ...]) -> None:
        """Check required, length-limited text cells."""
        for name in names:
            value = cells.get(name, "")
            if not value:
                self(row, name, "required")
            elif len(value) > LIMITS.get(name, 64):
                self(row, name, "longer than %(limit)s characters", limit=LIMITS.get(name, 64))

    def active(self, row: int, cells: dict[str, str]) -> bool:
        """The optional yes/no `active` cell."""
        value = _flag(cells.get("active", ""))
        if value is None:
            self(row, "active", "expected yes or no, got %(value)s", value=repr(cells["active"]))
        return bool(value)


def _duplicate(seen: set[str], code: str, row: int, err: _Errors) -> None:
    if code in seen:
        err(row, "code", "%(value)s appears twice in the file", value=repr(code))
    seen.add(code)


def import_agencies(stream: io.TextIOBase, source: str, actor: User) -> ImportReport:
    """Create or update agencies by code; a parent may be defined earlier in the file. All or nothing."""
    report = ImportReport()
    err = _Errors(source, report)
    rows = _read(stream, source, AGENCY_COLUMNS, ("code", "name_vi", "name_en", "level"), report)
    existing = {a.code: a for a in db.session.scalars(select(Agency))}
    planned: set[str] = set()
    for number, cells in rows:
        err.texts(number, cells, ("code", "name_vi", "name_en"))
        if cells.get("level") not in AGENCY_LEVELS:
            err(number, "level", "%(value)s is not one of %(allowed)s", value=repr(cells.get("level")),
                allowed=", ".join(AGENCY_LEVELS))
        parent = cells.get("parent", "")
        if parent and parent not in existing and parent not in planned:
            err(number, "parent", "unknown agency %(code)s (define parents before their children)",
                code=repr(parent))
        if parent and parent == cells.get("code"):
            err(number, "parent", "an agency cannot be its own parent")
        elif parent and cells.get("level") == "ministry":
            err(number, "parent", MINISTRY_AT_TOP)
        err.active(number, cells)
        _duplicate(planned, cells.get("code", ""), number, err)
    if report.ok:
        for _number, cells in rows:
            agency = existing.get(cells["code"]) or Agency(code=cells["code"])
            agency.name_vi, agency.name_en, agency.level = cells["name_vi"], cells["name_en"], cells["level"]
            parent = existing.get(cells.get("parent", ""))
            agency.parent_id = parent.id if parent else None
            agency.active = bool(_flag(cells.get("active", "")))
            db.session.add(agency)
            db.session.flush()
            existing[agency.code] = agency
        report.stored = len(rows)
        record_event(actor, "agency.import", source, rows=len(rows))
    return report


def import_services(stream: io.TextIOBase, source: str, actor: User) -> ImportReport:
    """Create or update services by code. All or nothing."""
    report = ImportReport()
    err = _Errors(source, report)
    rows = _read(stream, source, SERVICE_COLUMNS, ("code", "name_vi", "name_en"), report)
    seen: set[str] = set()
    for number, cells in rows:
        err.texts(number, cells, ("code", "name_vi", "name_en"))
        err.active(number, cells)
        _duplicate(seen, cells.get("code", ""), number, err)
    if report.ok:
        existing = {s.code: s for s in db.session.scalars(select(Service))}
        for _number, cells in rows:
            service = existing.get(cells["code"]) or Service(code=cells["code"])
            service.name_vi, service.name_en = cells["name_vi"], cells["name_en"]
            service.active = bool(_flag(cells.get("active", "")))
            db.session.add(service)
        db.session.flush()
        report.stored = len(rows)
        record_event(actor, "service.import", source, rows=len(rows))
    return report


@dataclass
class _CounterLookups:
    agencies: dict[str, int]
    services: dict[str, Service]
    questionnaires: dict[str, int]
    counters: dict[str, ServicePoint]
    visible: set[int] | None


def _counter_lookups(actor: User) -> _CounterLookups:
    return _CounterLookups(
        agencies=dict(db.session.execute(select(Agency.code, Agency.id)).all()),
        services={s.code: s for s in db.session.scalars(select(Service))},
        questionnaires=dict(db.session.execute(select(Questionnaire.code, Questionnaire.id)).all()),
        counters={c.code: c for c in db.session.scalars(select(ServicePoint))},
        visible=visible_agency_ids(actor),
    )


def _check_counter_row(number: int, cells: dict[str, str], look: _CounterLookups, err: _Errors) -> None:
    err.texts(number, cells, ("code", "name_vi", "name_en"))
    err.active(number, cells)
    agency_id = look.agencies.get(cells.get("agency", ""))
    if agency_id is None:
        err(number, "agency", "unknown agency %(code)s", code=repr(cells.get("agency", "")))
    elif look.visible is not None and agency_id not in look.visible:
        err(number, "agency", "%(code)s is outside your agencies", code=repr(cells["agency"]))
    current = look.counters.get(cells.get("code", ""))
    if current is not None and look.visible is not None and current.agency_id not in look.visible:
        err(number, "code", "%(code)s belongs to an agency outside yours", code=repr(cells["code"]))
    for code in filter(None, (c.strip() for c in cells.get("services", "").split(";"))):
        if code not in look.services:
            err(number, "services", "unknown service %(code)s", code=repr(code))
    questionnaire = cells.get("questionnaire", "")
    if questionnaire and questionnaire not in look.questionnaires:
        err(number, "questionnaire", "unknown questionnaire %(code)s", code=repr(questionnaire))


def import_counters(stream: io.TextIOBase, source: str, actor: User) -> ImportReport:
    """Create or update counters by code, only inside the actor's agencies. All or nothing."""
    report = ImportReport()
    err = _Errors(source, report)
    rows = _read(stream, source, COUNTER_COLUMNS, ("code", "agency", "name_vi", "name_en"), report)
    look = _counter_lookups(actor)
    seen: set[str] = set()
    for number, cells in rows:
        _check_counter_row(number, cells, look, err)
        _duplicate(seen, cells.get("code", ""), number, err)
    if report.ok:
        for _number, cells in rows:
            counter = look.counters.get(cells["code"]) or ServicePoint(code=cells["code"])
            counter.agency_id = look.agencies[cells["agency"]]
            counter.name_vi, counter.name_en = cells["name_vi"], cells["name_en"]
            counter.questionnaire_id = look.questionnaires.get(cells.get("questionnaire", ""))
            counter.active = bool(_flag(cells.get("active", "")))
            codes = filter(None, (c.strip() for c in cells.get("services", "").split(";")))
            counter.services = [look.services[code] for code in codes]
            db.session.add(counter)
        db.session.flush()
        report.stored = len(rows)
        record_event(actor, "counter.import", source, rows=len(rows))
    return report
