"""The one-stop system's dossier export, read from CSV or XLSX: every row checked, all stored or none.

A dossier code is the key: importing a code again updates that dossier (and replaces its contact
when the row has one; a row without contact columns leaves a stored contact alone). After a clean
import the monthly volumes of every agency-month the file touched are recomputed from the list
(`volumes.recompute_volumes`). FORMATS.md section "Dossier lists" describes the columns.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert, select, update

from app.extensions import db
from app.inputs import first_control_character
from app.models import Agency, Dossier, DossierContact, Service, ServicePoint, User
from app.models.campaign import CONTACT_CHANNELS
from app.services.accounts.audit import record_event
from app.services.exchange.problems import Problem
from app.services.exchange.responses_csv import ImportReport
from app.services.registry.scope import visible_agency_ids

COLUMNS = ("dossier_code", "agency", "counter", "service", "procedure", "procedure_group", "received",
           "completed", "due", "on_time", "apologies", "contact_channel", "contact_address", "contact_name")
REQUIRED_COLUMNS = ("dossier_code", "agency", "procedure", "received")
# Vietnamese headers a one-stop export may carry, without diacritics, spaces as underscores.
ALIASES = {
    "ma_ho_so": "dossier_code", "so_ho_so": "dossier_code",
    "co_quan": "agency", "ma_co_quan": "agency", "don_vi": "agency", "ma_don_vi": "agency",
    "quay": "counter", "ma_quay": "counter",
    "dich_vu": "service", "ma_dich_vu": "service",
    "thu_tuc": "procedure", "ten_thu_tuc": "procedure",
    "nhom_thu_tuc": "procedure_group", "linh_vuc": "procedure_group",
    "ngay_tiep_nhan": "received", "ngay_nhan": "received",
    "ngay_hoan_thanh": "completed", "ngay_tra_ket_qua": "completed",
    "ngay_hen_tra": "due", "han_xu_ly": "due", "han_giai_quyet": "due",
    "dung_han": "on_time",
    "xin_loi": "apologies", "so_thu_xin_loi": "apologies", "thu_xin_loi": "apologies",
    "kenh_lien_he": "contact_channel", "dia_chi_lien_he": "contact_address",
    "nguoi_lien_he": "contact_name", "ten_nguoi_lien_he": "contact_name",
}
MAX_ROWS = 200_000
MAX_BYTES = 50_000_000
MAX_APOLOGIES = 1000
LIMITS = {"dossier_code": 64, "procedure": 300, "procedure_group": 64, "contact_address": 500,
          "contact_name": 200}
ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
DAY_FIRST = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}")
TRUE = {"1", "true", "yes", "co", "có", "x", "dung_han", "đúng hạn"}
FALSE = {"0", "false", "no", "khong", "không", "tre_han", "trễ hạn"}
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
PHONE = re.compile(r"\+?[0-9]{8,15}")
PHONE_SEPARATORS = re.compile(r"[\s.\-()]")


class TableError(ValueError):
    """The file cannot be read as a table at all (not UTF-8, not a workbook, macros, too large)."""


# ---------------------------------------------------------------- reading the file


def _header_key(text: str) -> str:
    """A header cell as a column name: Vietnamese aliases understood, case and diacritics ignored."""
    plain = unicodedata.normalize("NFD", text.strip().lower().replace("đ", "d"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    plain = re.sub(r"[\s-]+", "_", plain)
    return ALIASES.get(plain, plain)


def _cell_text(value) -> str:
    """An XLSX cell as the text a CSV would hold (dates ISO, whole numbers without .0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_rows(data: bytes, source: str) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(Problem("the file is not UTF-8 text", source=source)) from exc
    found = first_control_character(text)
    if found is not None:
        raise TableError(Problem("line %(line)s holds a control character (U+%(code)s), which is not allowed "
                                 "in an imported file", source=source, line=found[0], code=found[1]))
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise TableError(Problem("cannot read CSV: %(reason)s", source=source, reason=str(exc))) from exc


def _open_workbook(data: bytes, source: str):
    """The workbook, read-only; a file with macros or that is no workbook is refused."""
    from openpyxl import load_workbook  # imported on use: only XLSX uploads need it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            macros = any(name.lower().endswith("vbaproject.bin") for name in archive.namelist())
        book = None if macros else load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # zipfile and openpyxl raise several kinds for a file that is not a workbook
        raise TableError(Problem("not an .xlsx workbook", source=source)) from exc
    if book is None:
        raise TableError(Problem("the workbook holds macros; save it as a plain .xlsx", source=source))
    return book


def _sheet_values(sheet, source: str) -> list[list[str]]:
    rows = []
    for number, row in enumerate(sheet.iter_rows(), start=1):
        for cell in row:
            if getattr(cell, "data_type", None) == "f":
                raise TableError(Problem("a formula (only plain values are read)", source=source,
                                         row=number, column=getattr(cell, "column_letter", None)))
        texts = [_cell_text(cell.value) for cell in row]
        found = next((f for f in map(first_control_character, texts) if f is not None), None)
        if found is not None:
            raise TableError(Problem("holds a control character (U+%(code)s), which is not allowed",
                                     source=source, row=number, code=found[1]))
        rows.append(texts)
    return rows


def _xlsx_rows(data: bytes, source: str) -> list[list[str]]:
    """The first sheet's values; formulas, macros and oversized sheets are refused."""
    book = _open_workbook(data, source)
    try:
        sheet = book.worksheets[0]
        if (sheet.max_row or 0) > MAX_ROWS + 1:
            raise TableError(Problem("%(rows)s rows (at most %(max)s)", source=source, rows=sheet.max_row,
                                     max=MAX_ROWS))
        rows = _sheet_values(sheet, source)
    finally:
        book.close()
    while rows and not any(rows[-1]):
        rows.pop()
    return rows


def read_table(data: bytes, source: str) -> list[list[str]]:
    """The file's rows as text (header first): XLSX by its signature or name, else CSV."""
    if len(data) > MAX_BYTES:
        raise TableError(Problem("the file is larger than %(mb)s MB", source=source,
                                 mb=MAX_BYTES // 1_000_000))
    if data[:4] == b"PK\x03\x04" or source.lower().endswith((".xlsx", ".xlsm")):
        return _xlsx_rows(data, source)
    rows = _csv_rows(data, source)
    if len(rows) > MAX_ROWS + 1:
        raise TableError(Problem("%(rows)s rows (at most %(max)s)", source=source, rows=len(rows),
                                 max=MAX_ROWS))
    return rows


# ---------------------------------------------------------------- one value


def parse_day(text: str) -> date:
    """An ISO date (YYYY-MM-DD); a day-first date gets its own explanation."""
    match = ISO_DATE.fullmatch(text)
    if match is None:
        if DAY_FIRST.fullmatch(text):
            raise ValueError(Problem("write dates as YYYY-MM-DD (e.g. 2025-06-30), not day/month/year: "
                                     "%(value)s", value=repr(text)))
        raise ValueError(Problem("expected a date like 2025-06-30, got %(value)s", value=repr(text)))
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise ValueError(Problem("%(value)s is not a date in the calendar", value=repr(text))) from exc


def parse_flag(text: str) -> bool:
    """1/0, true/false, yes/no, có/không."""
    lowered = text.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError(Problem("expected 1 or 0 (true/false, có/không), got %(value)s", value=repr(text)))


def parse_apologies(text: str) -> int:
    """A count of apology letters; a flag (có/không, true/false) counts as 1 or 0."""
    if text.isdigit():
        number = int(text)
        if number > MAX_APOLOGIES:
            raise ValueError(Problem("must be between 0 and %(max)s", max=MAX_APOLOGIES))
        return number
    try:
        return int(parse_flag(text))
    except ValueError:
        raise ValueError(Problem("expected a whole number of apologies (0 or more), got %(value)s",
                                 value=repr(text))) from None


# ---------------------------------------------------------------- checking rows


@dataclass
class DossierRow:
    """One checked row, ready to store."""

    code: str
    agency_id: int
    service_point_id: int | None
    service_id: int | None
    procedure: str
    procedure_group: str | None
    received_on: date
    completed_on: date | None
    due_on: date | None
    on_time: bool | None
    apologies: int
    contact: tuple[str, str, str | None] | None  # (channel, address, name)


class _Checker:
    """Checks rows against the organisation, the actor's scope, and each other."""

    def __init__(self, source: str, header_names: dict[str, str], actor: User | None, report: ImportReport):
        self.source, self.names, self.report = source, header_names, report
        self.agencies = dict(db.session.execute(select(Agency.code, Agency.id)).all())
        self.counters = {code: (sp_id, agency_id) for code, sp_id, agency_id in db.session.execute(
            select(ServicePoint.code, ServicePoint.id, ServicePoint.agency_id))}
        self.services = dict(db.session.execute(select(Service.code, Service.id)).all())
        self.visible = visible_agency_ids(actor) if actor is not None else None  # None: the command line
        self.seen: dict[str, int] = {}

    def error(self, row: int, field: str, message: str | Problem, **params) -> None:
        """Record an error at a cell, named by the file's own header."""
        problem = message if isinstance(message, Problem) else Problem(message, **params)
        self.report.add(problem.at(source=self.source, row=row, column=self.names.get(field, field)))

    def _text(self, row: int, cells: dict, field: str, required: bool = False) -> str | None:
        value = cells.get(field, "").strip()
        if not value:
            if required:
                self.error(row, field, "required")
            return None
        if field in LIMITS and len(value) > LIMITS[field]:
            self.error(row, field, "at most %(max)s characters", max=LIMITS[field])
            return None
        return value

    def _parsed(self, row: int, cells: dict, field: str, parser, required: bool = False):
        value = cells.get(field, "").strip()
        if not value:
            if required:
                self.error(row, field, "required")
            return None
        try:
            return parser(value)
        except ValueError as exc:
            self.error(row, field, exc.args[0] if isinstance(exc.args[0], Problem) else str(exc))
            return None

    def _code(self, row: int, cells: dict) -> str | None:
        code = self._text(row, cells, "dossier_code", required=True)
        if code is None:
            return None
        if code in self.seen:
            self.error(row, "dossier_code", "dossier code %(code)s appears twice in the file (first in row "
                       "%(first)s)", code=repr(code), first=self.seen[code])
            return None
        self.seen[code] = row
        return code

    def _agency(self, row: int, cells: dict) -> int | None:
        code = self._text(row, cells, "agency", required=True)
        if code is None:
            return None
        agency_id = self.agencies.get(code)
        if agency_id is None:
            self.error(row, "agency", "unknown agency %(code)s", code=repr(code))
        elif self.visible is not None and agency_id not in self.visible:
            self.error(row, "agency", "%(code)s is outside your agencies", code=repr(code))
            return None
        return agency_id

    def _counter(self, row: int, cells: dict, agency_id: int | None) -> int | None:
        code = self._text(row, cells, "counter")
        if code is None:
            return None
        found = self.counters.get(code)
        if found is None:
            self.error(row, "counter", "unknown service point %(code)s", code=repr(code))
            return None
        if agency_id is not None and found[1] != agency_id:
            self.error(row, "counter", "%(counter)s does not belong to agency %(agency)s", counter=repr(code),
                       agency=repr(cells.get("agency", "").strip()))
        return found[0]

    def _service(self, row: int, cells: dict) -> int | None:
        code = self._text(row, cells, "service")
        if code is None:
            return None
        if code not in self.services:
            self.error(row, "service", "unknown service %(code)s", code=repr(code))
        return self.services.get(code)

    def _contact(self, row: int, cells: dict) -> tuple[str, str, str | None] | None:
        channel = (self._text(row, cells, "contact_channel") or "").lower()
        address = self._text(row, cells, "contact_address")
        name = self._text(row, cells, "contact_name")
        if not channel and not address:
            if name:
                self.error(row, "contact_address", "a contact name needs a channel and an address")
            return None
        if channel not in CONTACT_CHANNELS:
            self.error(row, "contact_channel", "expected one of %(choices)s" if channel else "required "
                       "with a contact address (one of %(choices)s)", choices=", ".join(CONTACT_CHANNELS))
            return None
        if not address:
            self.error(row, "contact_address", "required with a contact channel")
            return None
        if channel == "email" and not EMAIL.fullmatch(address):
            self.error(row, "contact_address", "not an e-mail address: %(value)s", value=repr(address))
            return None
        if channel in ("sms", "phone"):
            address = PHONE_SEPARATORS.sub("", address)
            if not PHONE.fullmatch(address):
                self.error(row, "contact_address", "not a phone number: %(value)s", value=repr(address))
                return None
        return channel, address, name

    def _dates(self, row: int, cells: dict) -> tuple[date | None, date | None, date | None]:
        received = self._parsed(row, cells, "received", parse_day, required=True)
        completed = self._parsed(row, cells, "completed", parse_day)
        due = self._parsed(row, cells, "due", parse_day)
        if received and completed and completed < received:
            self.error(row, "completed", "completed on %(completed)s, before it was received (%(received)s)",
                       completed=completed.isoformat(), received=received.isoformat())
        if received and due and due < received:
            self.error(row, "due", "due on %(due)s, before it was received (%(received)s)",
                       due=due.isoformat(), received=received.isoformat())
        return received, completed, due

    def check(self, row: int, cells: dict) -> DossierRow | None:
        """The row to store, or None after recording its errors."""
        before = self.report.error_count
        code = self._code(row, cells)
        agency_id = self._agency(row, cells)
        counter_id = self._counter(row, cells, agency_id)
        service_id = self._service(row, cells)
        procedure = self._text(row, cells, "procedure", required=True)
        group = self._text(row, cells, "procedure_group")
        received, completed, due = self._dates(row, cells)
        on_time = self._parsed(row, cells, "on_time", parse_flag)
        apologies = self._parsed(row, cells, "apologies", parse_apologies) or 0
        contact = self._contact(row, cells)
        if self.report.error_count != before:
            return None
        if on_time is None and completed is not None and due is not None:
            on_time = completed <= due  # the model's rule: computed when the system does not say
        return DossierRow(code, agency_id, counter_id, service_id, procedure, group, received, completed, due,
                          on_time, apologies, contact)


def _header(rows: list[list[str]], source: str, report: ImportReport) -> dict[str, int] | None:
    """Column name -> position, or None after recording what is wrong with the header."""
    if not rows:
        report.add(Problem("the file is empty", source=source))
        return None
    positions: dict[str, int] = {}
    for index, text in enumerate(rows[0]):
        if not text.strip():
            continue
        name = _header_key(text)
        if name not in COLUMNS:
            report.add(Problem("unknown column (expected %(columns)s)", source=source, row=1,
                               column=text.strip(), columns=", ".join(COLUMNS)))
        elif name in positions:
            report.add(Problem("this column appears twice", source=source, row=1, column=text.strip()))
        else:
            positions[name] = index
    for name in REQUIRED_COLUMNS:
        if name not in positions:
            report.add(Problem("required column is missing", source=source, row=1, column=name))
    return positions if report.ok else None


# Codes per IN (...) list: well below SQLite's and PostgreSQL's parameter limits.
CHUNK = 1000


def _chunks(items: list):
    """The items in slices an IN (...) list may hold on every database."""
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _existing_outside_scope(rows: list[DossierRow], checker: _Checker, lines: dict[str, int]) -> None:
    """A manager may not move or overwrite a dossier stored for an agency outside their scope."""
    if checker.visible is None:
        return
    for chunk in _chunks([row.code for row in rows]):
        for code, agency_id in db.session.execute(select(Dossier.code, Dossier.agency_id)
                                                  .where(Dossier.code.in_(chunk))):
            if agency_id not in checker.visible:
                checker.error(lines[code], "dossier_code", "dossier %(code)s is stored for an agency outside "
                              "yours", code=repr(code))


# ---------------------------------------------------------------- storing


# The columns an import writes (and compares, to skip a dossier that did not change).
STORED = ("code", "agency_id", "service_point_id", "service_id", "procedure", "procedure_group",
          "received_on", "completed_on", "due_on", "on_time", "apologies")


def _values(row: DossierRow) -> dict:
    return {"code": row.code, "agency_id": row.agency_id, "service_point_id": row.service_point_id,
            "service_id": row.service_id, "procedure": row.procedure, "procedure_group": row.procedure_group,
            "received_on": row.received_on, "completed_on": row.completed_on, "due_on": row.due_on,
            "on_time": row.on_time, "apologies": row.apologies}


def _store_contacts(rows: list[DossierRow], ids: dict[str, int]) -> None:
    """Insert or replace the contacts the rows carry (rows without one leave a stored one alone)."""
    wanted = {ids[row.code]: row.contact for row in rows if row.contact is not None}
    stored: dict[int, tuple] = {}
    for chunk in _chunks(sorted(wanted)):
        stored.update((i, (c, a, n)) for i, c, a, n in db.session.execute(
            select(DossierContact.dossier_id, DossierContact.channel, DossierContact.address,
                   DossierContact.name).where(DossierContact.dossier_id.in_(chunk))))
    values = [{"dossier_id": i, "channel": c[0], "address": c[1], "name": c[2]} for i, c in wanted.items()]
    new = [v for v in values if v["dossier_id"] not in stored]
    changed = {i for i, contact in wanted.items() if i in stored and stored[i] != contact}
    old = [v for v in values if v["dossier_id"] in changed]
    if new:
        db.session.execute(insert(DossierContact), new)
    if old:
        db.session.execute(update(DossierContact), old)


def _store(rows: list[DossierRow]) -> set[tuple[int, date]]:
    """Insert or update every dossier in bulk (100,000 rows in seconds, not an ORM object each);
    returns the (agency, month) pairs whose counts may have changed."""
    touched = {(row.agency_id, row.completed_on.replace(day=1)) for row in rows if row.completed_on}
    existing: dict[str, int] = {}
    stored: dict[str, dict] = {}
    columns = [getattr(Dossier, name) for name in STORED]
    for chunk in _chunks([row.code for row in rows]):
        for dossier_id, *values in db.session.execute(select(Dossier.id, *columns)
                                                       .where(Dossier.code.in_(chunk))):
            record = dict(zip(STORED, values, strict=True))
            existing[record["code"]], stored[record["code"]] = dossier_id, record
            if record["completed_on"] is not None:
                touched.add((record["agency_id"], record["completed_on"].replace(day=1)))
    new = [_values(row) for row in rows if row.code not in existing]
    # A dossier imported again unchanged is not written again (a monthly re-export is mostly that).
    old = [{"id": existing[row.code], **values} for row in rows if row.code in existing
           for values in (_values(row),) if values != stored[row.code]]
    if new:
        db.session.execute(insert(Dossier), new)
    if old:
        db.session.execute(update(Dossier), old)
    ids = dict(existing)
    for chunk in _chunks([v["code"] for v in new]):
        ids.update((code, i) for i, code in db.session.execute(
            select(Dossier.id, Dossier.code).where(Dossier.code.in_(chunk))))
    _store_contacts(rows, ids)
    return touched


def import_dossiers(data: bytes, source: str, actor: User | None) -> ImportReport:
    """Import a dossier list (CSV or XLSX bytes): all rows stored, or none and every error listed.

    The caller commits on success and rolls back otherwise (the web page and the command do).
    """
    from app.services.dossiers.volumes import recompute_volumes

    report = ImportReport()
    try:
        table = read_table(data, source)
    except TableError as exc:
        report.add(exc.args[0])
        return report
    positions = _header(table, source, report)
    if positions is None:
        return report
    names = {name: table[0][index].strip() for name, index in positions.items()}
    checker = _Checker(source, names, actor, report)
    rows, lines = [], {}
    for number, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        report.rows += 1
        values = {name: cells[index] if index < len(cells) else "" for name, index in positions.items()}
        row = checker.check(number, values)
        if row is not None:
            rows.append(row)
            lines[row.code] = number
    _existing_outside_scope(rows, checker, lines)
    if not report.ok:
        return report
    if not rows:
        report.add(Problem("the file holds no dossier", source=source))
        return report
    touched = _store(rows)
    recompute_volumes(touched)
    report.stored = len(rows)
    record_event(actor, "dossiers.import", source, rows=len(rows),
                 contacts=sum(1 for row in rows if row.contact is not None))
    return report
