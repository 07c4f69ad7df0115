"""Dossier volumes: dossiers handled per agency or counter and month, from CSV, JSON or a form."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Agency, DossierVolume, ServicePoint, User
from app.services.accounts.audit import record_event
from app.services.dossiers import derived_months, derived_pairs
from app.services.exchange.problems import Problem, problem_of
from app.services.exchange.responses_csv import ImportReport
from app.services.registry.scope import visible_agency_ids

COLUMNS = ("agency", "service_point", "month", "dossiers")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MAX_DOSSIERS = 10_000_000
# An agency's own figure for a month that the dossier list covers comes from the list (issue 19).
FROM_LIST = "this month's figure comes from the dossier list; import the list again to change it"


def parse_month(text: str) -> date:
    """`YYYY-MM` to the first day of that month."""
    match = MONTH.fullmatch(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(Problem("expected a month like 2025-06, got %(value)s", value=repr(text)))
    return date(int(match.group(1)), int(match.group(2)), 1)


def parse_dossiers(value) -> int:
    """A whole number of dossiers, 0 or more."""
    if isinstance(value, bool):
        raise ValueError(Problem("expected a whole number"))
    try:
        number = int(str(value).strip())
    except ValueError as exc:
        raise ValueError(Problem("expected a whole number, got %(value)s", value=repr(value))) from exc
    if not 0 <= number <= MAX_DOSSIERS:
        raise ValueError(Problem("must be between 0 and %(max)s", max=MAX_DOSSIERS))
    return number


@dataclass(frozen=True)
class _Row:
    agency_id: int
    service_point_id: int | None
    month: date
    dossiers: int


class _Checker:
    """Checks rows (as text maps) against the organisation and the actor's scope."""

    def __init__(self, actor: User | None, report: ImportReport, where):
        self.report, self.where = report, where
        self.agencies = dict(db.session.execute(select(Agency.code, Agency.id)).all())
        self.counters = {
            code: (sp_id, agency_id)
            for code, sp_id, agency_id in db.session.execute(
                select(ServicePoint.code, ServicePoint.id, ServicePoint.agency_id))
        }
        self.visible = visible_agency_ids(actor) if actor is not None else None  # None: the command line
        self.seen: set[tuple[int, int | None, date]] = set()
        self.from_list = derived_pairs(self.agencies.values())

    def error(self, position, field: str, message: str | Problem, **params) -> None:
        """Record an error at a cell: `message` is an English msgid with %(name)s for `params`."""
        problem = message if isinstance(message, Problem) else Problem(message, **params)
        self.report.add(problem.at(**self.where(position, field)))

    def _place(self, position, cells: dict) -> tuple[int | None, int | None]:
        code = str(cells.get("agency") or "").strip()
        agency_id = self.agencies.get(code)
        if agency_id is None:
            if code:
                self.error(position, "agency", "unknown agency %(code)s", code=repr(code))
            else:
                self.error(position, "agency", "required")
        elif self.visible is not None and agency_id not in self.visible:
            self.error(position, "agency", "%(code)s is outside your agencies", code=repr(code))
        counter = str(cells.get("service_point") or "").strip()
        if not counter:
            return agency_id, None
        found = self.counters.get(counter)
        if found is None:
            self.error(position, "service_point", "unknown service point %(code)s", code=repr(counter))
            return agency_id, None
        if agency_id is not None and found[1] != agency_id:
            self.error(position, "service_point", "%(counter)s does not belong to agency %(agency)s",
                       counter=repr(counter), agency=repr(code))
        return agency_id, found[0]

    def check(self, position, cells: dict) -> _Row | None:
        """The row to store, or None after recording its errors."""
        before = self.report.error_count
        agency_id, counter_id = self._place(position, cells)
        parsed = {}
        for field, parser in (("month", parse_month), ("dossiers", parse_dossiers)):
            try:
                parsed[field] = parser(cells.get(field) if cells.get(field) is not None else "")
            except ValueError as exc:
                self.error(position, field, problem_of(exc))
        if self.report.error_count != before:
            return None
        key = (agency_id, counter_id, parsed["month"])
        if counter_id is None and (agency_id, parsed["month"]) in self.from_list:
            self.error(position, "month", FROM_LIST)
            return None
        if key in self.seen:
            self.error(position, "month", "the same agency, service point and month appear twice")
            return None
        self.seen.add(key)
        return _Row(agency_id, counter_id, parsed["month"], parsed["dossiers"])


def _store(rows: list[_Row]) -> None:
    """Insert or replace each (agency, counter, month) figure."""
    for row in rows:
        existing = db.session.scalar(select(DossierVolume).where(
            DossierVolume.agency_id == row.agency_id,
            DossierVolume.service_point_id.is_(None) if row.service_point_id is None
            else DossierVolume.service_point_id == row.service_point_id,
            DossierVolume.month == row.month,
        ))
        if existing is None:
            db.session.add(DossierVolume(agency_id=row.agency_id, service_point_id=row.service_point_id,
                                         month=row.month, dossiers=row.dossiers))
        else:
            existing.dossiers = row.dossiers
    db.session.flush()


def _import(items: Iterable[tuple[object, dict]], actor: User | None, source: str, where) -> ImportReport:
    report = ImportReport()
    checker = _Checker(actor, report, where)
    rows = []
    for position, cells in items:
        report.rows += 1
        row = checker.check(position, cells)
        if row is not None:
            rows.append(row)
    if report.ok and rows:
        _store(rows)
        report.stored = len(rows)
        record_event(actor, "volumes.import", source, rows=len(rows))
    return report


def import_volumes_csv(stream: io.TextIOBase, source: str, actor: User | None) -> ImportReport:
    """CSV with columns agency, service_point (optional), month (YYYY-MM), dossiers. All or nothing."""
    reader = csv.reader(stream)
    header = [name.strip() for name in next(reader, [])]
    report = ImportReport()
    for column in ("agency", "month", "dossiers"):
        if column not in header:
            report.add(Problem("required column is missing", source=source, row=1, column=column))
    for column in header:
        if column not in COLUMNS:
            report.add(Problem("unknown column (expected %(columns)s)", source=source, row=1, column=column,
                               columns=", ".join(COLUMNS)))
    if not report.ok:
        return report
    try:
        items = [(n, dict(zip(header, cells, strict=False))) for n, cells in enumerate(reader, start=2)]
    except csv.Error as exc:
        report.add(Problem("cannot read CSV: %(reason)s", source=source, reason=str(exc)))
        return report
    return _import(items, actor, source, lambda n, field: {"source": source, "row": n, "column": field})


def import_volumes_json(payload, actor: User) -> ImportReport:
    """JSON `{"volumes": [{"agency", "service_point"?, "month", "dossiers"}, …]}`. All or nothing."""
    report = ImportReport()
    items = payload.get("volumes") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        report.add("body: expected {\"volumes\": [{\"agency\": …, \"month\": …, \"dossiers\": …}, …]}")
        return report
    return _import(enumerate(items), actor, "api", lambda i, field: {"source": f"volumes[{i}].{field}"})


def list_volumes(user: User, limit: int = 500) -> list[DossierVolume]:
    """The latest figures in the user's scope."""
    query = (select(DossierVolume)
             .options(joinedload(DossierVolume.agency), joinedload(DossierVolume.service_point))
             .order_by(DossierVolume.month.desc(), DossierVolume.agency_id).limit(limit))
    visible = visible_agency_ids(user)
    if visible is not None:
        query = query.where(DossierVolume.agency_id.in_(visible))
    return list(db.session.scalars(query))


# ---------------------------------------------------------------- the monthly grid and the CSV export


@dataclass
class GridRow:
    """One line of the grid: the agency's total (counter None) or one of its counters."""

    counter: ServicePoint | None
    key: str  # "a" for the agency's total, else the counter id: the cells' form names are v-KEY-MONTH


@dataclass
class VolumeGrid:
    """An agency's dossier figures for the twelve months of a year, as text per cell."""

    agency: Agency
    year: int
    rows: list[GridRow]
    cells: dict[tuple[str, int], str]  # (row key, month 1-12) -> the figure, or what was typed
    errors: dict[tuple[str, int], Problem]
    # Months whose agency total the dossier list gives (issue 19): shown, not typed.
    from_list: set[int] = dataclass_field(default_factory=set)


def _stored(agency_id: int, year: int) -> dict[tuple[int | None, int], DossierVolume]:
    query = select(DossierVolume).where(DossierVolume.agency_id == agency_id,
                                        DossierVolume.month >= date(year, 1, 1),
                                        DossierVolume.month <= date(year, 12, 1))
    return {(v.service_point_id, v.month.month): v for v in db.session.scalars(query)}


def volume_grid(agency: Agency, year: int) -> VolumeGrid:
    """The grid of an agency's year: its total and each of its counters (active, or with figures)."""
    stored = _stored(agency.id, year)
    with_figures = {counter_id for counter_id, _month in stored if counter_id is not None}
    counters = db.session.scalars(select(ServicePoint).where(ServicePoint.agency_id == agency.id)
                                  .order_by(ServicePoint.code)).all()
    rows = [GridRow(None, "a")] + [GridRow(c, str(c.id)) for c in counters
                                   if c.active or c.id in with_figures]
    cells = {("a" if counter_id is None else str(counter_id), month): str(v.dossiers)
             for (counter_id, month), v in stored.items()}
    return VolumeGrid(agency, year, rows, cells, {}, derived_months(agency.id, year))


def _from_list(grid: VolumeGrid, key: str, month: int, text: str, existing: DossierVolume | None) -> bool:
    """Whether the cell is an agency total the dossier list gives (a changed one is marked refused)."""
    if key != "a" or month not in grid.from_list:
        return False
    if text != (str(existing.dossiers) if existing else ""):
        grid.errors[(key, month)] = Problem(FROM_LIST)
    return True


def save_volume_grid(grid: VolumeGrid, typed: dict[tuple[str, int], str], actor: User | None) -> int:
    """Store every valid cell the form sent (an emptied cell removes its figure); mark the bad ones.

    A negative, non-numeric or too large value is kept as typed in `grid.cells` with its error in
    `grid.errors` and stores nothing for that cell; the other cells are stored. Returns how many
    figures changed. The caller commits.
    """
    stored = _stored(grid.agency.id, grid.year)
    counters = {row.key: row.counter.id if row.counter else None for row in grid.rows}
    changed = 0
    for (key, month), raw in typed.items():
        if key not in counters or not 1 <= month <= 12:
            continue
        text = raw.strip().replace(" ", "").replace("\u00a0", "")
        existing = stored.get((counters[key], month))
        if _from_list(grid, key, month, text, existing):
            continue
        grid.cells[(key, month)] = raw.strip()
        if text == "":
            if existing is not None:
                db.session.delete(existing)
                changed += 1
            continue
        try:
            dossiers = parse_dossiers(text)
        except ValueError as exc:
            grid.errors[(key, month)] = problem_of(exc)
            continue
        grid.cells[(key, month)] = str(dossiers)
        if existing is None:
            db.session.add(DossierVolume(agency_id=grid.agency.id, service_point_id=counters[key],
                                         month=date(grid.year, month, 1), dossiers=dossiers))
            changed += 1
        elif existing.dossiers != dossiers:
            existing.dossiers = dossiers
            changed += 1
    db.session.flush()
    if changed:
        record_event(actor, "volumes.grid", grid.agency.code, year=grid.year, changed=changed,
                     refused=len(grid.errors))
    return changed


def export_volumes_rows(agency_ids: set[int] | None = None) -> Iterable[list[str]]:
    """The CSV rows (header first) of every stored figure, in the import's own columns."""
    yield list(COLUMNS)
    query = (select(DossierVolume)
             .options(joinedload(DossierVolume.agency), joinedload(DossierVolume.service_point))
             .order_by(DossierVolume.month, DossierVolume.agency_id, DossierVolume.service_point_id))
    if agency_ids is not None:
        query = query.where(DossierVolume.agency_id.in_(agency_ids))
    for volume in db.session.scalars(query):
        yield [volume.agency.code, volume.service_point.code if volume.service_point else "",
               volume.month.strftime("%Y-%m"), str(volume.dossiers)]
