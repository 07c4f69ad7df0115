"""Responses in the FORMATS.md §2 CSV: streamed export and all-or-nothing import."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import RowMapping, select

from analysis.questionnaire import Questionnaire
from app.extensions import db
from app.models import (
    CHANNELS,
    Agency,
    QuestionnaireVersion,
    Response,
    Service,
    ServicePoint,
    slot_column,
)
from app.models import (
    Questionnaire as QuestionnaireRow,
)
from app.models.base import utcnow
from app.models.response import INTERVIEW_MODES
from app.services.exchange.problems import Problem, problem_of
from app.services.questionnaires.versions import questionnaire_of, rating_slots
from app.services.registry.scope import subtree_ids
from app.services.reports import cells as report_cells
from app.services.reports.aggregates import report_timezone

DESIGN_COLUMNS = (
    "response_id", "survey", "survey_version", "agency", "service_point", "service",
    "channel", "submitted_at", "stratum", "psu", "weight",
)
# Optional columns we add (a compatible extension of FORMATS.md §2).
FLAG_COLUMNS = ("verified", "suspicious", "assisted")
# Paper questionnaires and interviews (issue 17): the day, who asked, how (self, face, phone).
INTERVIEW_COLUMNS = ("interview_date", "enumerator", "interview_mode")
BAD_INTERVIEW_DATE = "expected a day like 2025-06-30, from 2000 to today, got %(value)s"
RESERVED_COLUMNS = DESIGN_COLUMNS + FLAG_COLUMNS + INTERVIEW_COLUMNS
REQUIRED_COLUMNS = ("response_id", "survey", "agency")
MAX_LISTED_ERRORS = 500
NOT_UTF8 = "the file is not UTF-8 text (save it as \"CSV UTF-8\")"


# Rows the export fetches from the database at a time (through a server-side cursor on
# PostgreSQL): its memory stays flat however many responses it writes. A batch is held as
# processed rows (dates, JSON answers), about 3 KB each: 1,000 keep it to a few MB.
EXPORT_BATCH_ROWS = 1000


class ExportError(Exception):
    """The export request names something that does not exist."""


# ---------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportFilter:
    """Which responses to export."""

    survey: str
    agency: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def _local_bound(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def _export_versions(survey: str) -> list[QuestionnaireVersion]:
    versions = list(
        db.session.scalars(
            select(QuestionnaireVersion)
            .join(QuestionnaireRow)
            .where(QuestionnaireRow.code == survey)
            .order_by(QuestionnaireVersion.version)
        )
    )
    if not versions:
        raise ExportError(f"unknown questionnaire code {survey!r}")
    return versions


def question_columns(questionnaires: Iterable[Questionnaire]) -> list[str]:
    """Question codes across versions, in first-seen order."""
    seen: dict[str, None] = {}
    for questionnaire in questionnaires:
        for question in questionnaire.all_questions():
            seen.setdefault(question.code, None)
    return list(seen)


def _format_weight(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _row_batches(result, size: int) -> Iterator[Sequence[RowMapping]]:
    """The result's rows, `size` at a time, as the database cursor delivers them."""
    return result.mappings().partitions(size)


def export_rows(spec: ExportFilter, tz_name: str) -> Iterator[list[str]]:
    """Yield the header and then one CSV row per response, streaming from the database.

    Rows are read EXPORT_BATCH_ROWS at a time; only one batch is in memory.
    """
    tz = ZoneInfo(tz_name)
    versions = _export_versions(spec.survey)
    parsed = {v.id: questionnaire_of(v) for v in versions}
    columns = question_columns(parsed.values())
    table = Response.__table__
    # A voided response (issue 17) is in no export.
    query = (select(table).where(table.c.version_id.in_(parsed), table.c.voided_at.is_(None))
             .order_by(table.c.id))
    if spec.agency:
        root = db.session.scalar(select(Agency).where(Agency.code == spec.agency))
        if root is None:
            raise ExportError(f"unknown agency code {spec.agency!r}")
        query = query.where(table.c.agency_id.in_(subtree_ids(root.id)))
    yield [*RESERVED_COLUMNS, *columns]

    if spec.date_from:
        query = query.where(table.c.submitted_at >= _local_bound(spec.date_from, tz))
    if spec.date_to:
        query = query.where(
            table.c.submitted_at < _local_bound(spec.date_to + timedelta(days=1), tz)
        )
    codes = _code_maps()
    version_numbers = {v.id: v.version for v in versions}
    formatters = {
        vid: _answer_formatter(q, rating_slots(q), columns) for vid, q in parsed.items()
    }
    # Core rows, not ORM objects, fetched a batch at a time: a million responses stream in flat memory.
    size = EXPORT_BATCH_ROWS
    result = db.session.execute(query.execution_options(yield_per=size))
    for batch in _row_batches(result, size):
        for row in batch:
            yield [
                row["uid"],
                spec.survey,
                str(version_numbers[row["version_id"]]),
                codes["agency"][row["agency_id"]],
                codes["service_point"].get(row["service_point_id"], ""),
                codes["service"].get(row["service_id"], ""),
                row["channel"],
                row["submitted_at"].astimezone(tz).isoformat(),
                row["stratum"] or "",
                row["psu"] or "",
                _format_weight(row["weight"]),
                "yes" if row["verified"] else "no",
                "yes" if row["suspicious"] else "no",
                "yes" if row["assisted"] else "no",
                row["interview_date"].isoformat() if row["interview_date"] else "",
                _spreadsheet_safe(str)(row["enumerator"] or ""),
                row["interview_mode"] or "",
                *formatters[row["version_id"]](row),
            ]


def _code_maps() -> dict[str, dict[int, str]]:
    return {
        "agency": dict(db.session.execute(select(Agency.id, Agency.code)).all()),
        "service_point": dict(db.session.execute(select(ServicePoint.id, ServicePoint.code)).all()),
        "service": dict(db.session.execute(select(Service.id, Service.code)).all()),
    }


# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _looks_escaped(text: str) -> bool:
    return text.startswith("'") and text[1:2] in (*FORMULA_STARTS, "'")


def _spreadsheet_safe(fmt):
    """Prefix free text that a spreadsheet would run as a formula with a quote.

    Text that already looks escaped ("'=…", "''…") gets one more quote, so import can
    drop exactly one and the round trip stays lossless; any other text is unchanged.
    """

    def safe(value) -> str:
        text = fmt(value)
        return "'" + text if text.startswith(FORMULA_STARTS) or _looks_escaped(text) else text

    return safe


def unquote_text_cell(text: str) -> str:
    """Undo _spreadsheet_safe on import (the spreadsheet convention: a leading quote marks text)."""
    return text[1:] if _looks_escaped(text) else text


def _answer_formatter(questionnaire: Questionnaire, slots: dict[str, int], columns: list[str]):
    """Build a function turning a response row into its answer cells, in `columns` order.

    Planned once per version: the per-row work is then a dictionary lookup per cell.
    """
    questions = {q.code: q for q in questionnaire.all_questions()}
    plan = []
    for code in columns:
        question = questions.get(code)
        if question is None:
            plan.append((None, None))
        elif code in slots:
            plan.append((slot_column(slots[code]), None))
        elif question.type == "text":
            plan.append((code, _spreadsheet_safe(question.format_answer)))
        else:
            plan.append((code, question.format_answer))

    def cells(row) -> list[str]:
        stored = row["answers"] or {}
        out = []
        for key, fmt in plan:
            if key is None:
                out.append("")
            elif fmt is None:
                value = row[key]
                out.append("" if value is None else str(value))
            else:
                value = stored.get(key)
                out.append(fmt(tuple(value) if isinstance(value, list) else value))
        return out

    return cells


def write_csv(rows: Iterable[list[str]], stream: io.TextIOBase) -> int:
    """Write rows to a text stream; return the number of data rows."""
    writer = csv.writer(stream, lineterminator="\n")
    count = -1
    for row in rows:
        writer.writerow(row)
        count += 1
    return max(count, 0)


# ---------------------------------------------------------------- import


@dataclass
class ImportReport:
    """Outcome of an import: rows stored, or every error found (then nothing is stored)."""

    rows: int = 0
    stored: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    def add(self, message: str) -> None:
        """Record one error (the first MAX_LISTED_ERRORS are kept verbatim)."""
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(message)

    @property
    def ok(self) -> bool:
        """True when no error was found."""
        return self.error_count == 0


@dataclass
class _Lookups:
    agencies: dict[str, int]
    counters: dict[str, tuple[int, int]]
    services: dict[str, int]
    versions: dict[tuple[str, int | None], QuestionnaireVersion]


def _load_lookups() -> _Lookups:
    versions: dict[tuple[str, int | None], QuestionnaireVersion] = {}
    rows = db.session.execute(
        select(QuestionnaireRow.code, QuestionnaireVersion)
        .join(QuestionnaireVersion.questionnaire)
        .where(QuestionnaireVersion.status == "published")
        .order_by(QuestionnaireVersion.version)
    ).all()
    for code, version in rows:
        versions[(code, version.version)] = version
        versions[(code, None)] = version  # the latest published, by ordering
    return _Lookups(
        agencies=dict(db.session.execute(select(Agency.code, Agency.id)).all()),
        counters={
            code: (sp_id, agency_id)
            for code, sp_id, agency_id in db.session.execute(
                select(ServicePoint.code, ServicePoint.id, ServicePoint.agency_id)
            )
        },
        services=dict(db.session.execute(select(Service.code, Service.id)).all()),
        versions=versions,
    )


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp that must carry its offset."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(Problem("timestamp needs a UTC offset, e.g. 2025-03-01T09:15:00+07:00"))
    return value


def interview_instant(day: date, zone: ZoneInfo) -> datetime:
    """The instant a paper questionnaire or interview is dated at: noon of its day, local time."""
    return datetime.combine(day, time(12, 0), tzinfo=zone)


def parse_weight(text: str) -> float:
    """A finite design weight greater than zero."""
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(Problem("weight must be a finite number greater than 0"))
    return value


def parse_flag(text: str) -> bool:
    """yes/no flags; empty means no."""
    if text in ("", "no"):
        return False
    if text == "yes":
        return True
    raise ValueError(Problem("expected yes or no"))


class _RowChecker:
    """Checks one CSV row at a time, collecting errors with row and column."""

    def __init__(self, source: str, header: list[str], lookups: _Lookups, report: ImportReport):
        self.source, self.header, self.lookups, self.report = source, header, lookups, report
        self.seen_ids: set[str] = set()
        self.slot_cache: dict[int, dict[str, int]] = {}

    def error(self, row: int, column: str, message: str, **params) -> None:
        """Record an error at a cell: `message` is an English msgid with %(name)s for `params`."""
        self.report.add(Problem(message, source=self.source, row=row, column=column, **params))

    def check(self, row_number: int, cells: dict[str, str]) -> dict | None:
        """Return the values to insert for a row, or None after recording its errors."""
        before = self.report.error_count
        values = self._design_values(row_number, cells)
        version = self._version(row_number, cells)
        if version is not None:
            values.update(self._answer_values(row_number, cells, version))
            values["version_id"] = version.id
        return values if self.report.error_count == before else None

    def _version(self, row: int, cells: dict[str, str]) -> QuestionnaireVersion | None:
        survey, number = cells.get("survey", ""), cells.get("survey_version", "")
        if not survey:
            self.error(row, "survey", "required")
            return None
        key_version: int | None = None
        if number:
            try:
                key_version = int(number)
            except ValueError:
                self.error(row, "survey_version", "not an integer: %(value)s", value=repr(number))
                return None
        version = self.lookups.versions.get((survey, key_version))
        if version is None:
            if key_version is None:
                self.error(row, "survey", "no published questionnaire %(code)s", code=repr(survey))
            else:
                self.error(row, "survey_version", "no published questionnaire %(code)s version %(version)s",
                           code=repr(survey), version=key_version)
        return version

    def _design_values(self, row: int, cells: dict[str, str]) -> dict:
        values: dict = {"answers": {}}
        self._check_id(row, cells.get("response_id", ""), values)
        self._check_places(row, cells, values)
        channel = cells.get("channel", "") or "import"
        if channel not in CHANNELS:
            self.error(row, "channel", "%(value)s is not one of %(allowed)s", value=repr(channel),
                       allowed=", ".join(CHANNELS))
        values["channel"] = channel
        for column, parser, key in (
            ("submitted_at", parse_timestamp, "submitted_at"),
            ("weight", parse_weight, "weight"),
            ("verified", parse_flag, "verified"),
            ("suspicious", parse_flag, "suspicious"),
            ("assisted", parse_flag, "assisted"),
        ):
            text = cells.get(column, "")
            if text == "" and column in ("submitted_at", "weight"):
                continue
            try:
                values[key] = parser(text)
            except ValueError as exc:
                self.error(row, column, "%(reason)s (got %(value)s)", reason=problem_of(exc),
                           value=repr(text))
        values["stratum"] = cells.get("stratum") or None
        values["psu"] = cells.get("psu") or None
        self._interview(row, cells, values)
        return values

    def _interview(self, row: int, cells: dict[str, str], values: dict) -> None:
        """The optional interview columns; the day answered is then the response's submitted_at."""
        day_text = cells.get("interview_date", "").strip()
        enumerator = unquote_text_cell(cells.get("enumerator", "")).strip()
        mode = cells.get("interview_mode", "").strip()
        if len(enumerator) > 64:
            self.error(row, "enumerator", "longer than %(limit)s characters", limit=64)
        values["enumerator"] = enumerator or None
        if mode and mode not in INTERVIEW_MODES:
            self.error(row, "interview_mode", "%(value)s is not one of %(allowed)s", value=repr(mode),
                       allowed=", ".join(INTERVIEW_MODES))
        values["interview_mode"] = mode or None
        if not day_text:
            return
        try:
            day = date.fromisoformat(day_text)
            if len(day_text) != 10 or not date(2000, 1, 1) <= day <= date.today() + timedelta(days=1):
                raise ValueError
        except ValueError:
            self.error(row, "interview_date", BAD_INTERVIEW_DATE, value=repr(day_text))
            return
        values["interview_date"] = day
        zone = ZoneInfo(report_timezone())
        submitted = values.get("submitted_at")
        if submitted is None:
            values["submitted_at"] = interview_instant(day, zone)
        elif submitted.astimezone(zone).date() != day:
            self.error(row, "submitted_at", "falls on another day than interview_date %(day)s", day=day_text)

    def _check_id(self, row: int, uid: str, values: dict) -> None:
        if not uid:
            self.error(row, "response_id", "required")
        elif len(uid) > 64:
            self.error(row, "response_id", "longer than %(limit)s characters", limit=64)
        elif uid in self.seen_ids:
            self.error(row, "response_id", "%(value)s appears twice in the file", value=repr(uid))
        self.seen_ids.add(uid)
        values["uid"] = uid

    def _check_places(self, row: int, cells: dict[str, str], values: dict) -> None:
        agency = cells.get("agency", "")
        values["agency_id"] = self.lookups.agencies.get(agency)
        if values["agency_id"] is None:
            if agency:
                self.error(row, "agency", "unknown agency code %(code)s", code=repr(agency))
            else:
                self.error(row, "agency", "required")
        counter = cells.get("service_point", "")
        if counter:
            found = self.lookups.counters.get(counter)
            if found is None:
                self.error(row, "service_point", "unknown service point code %(code)s", code=repr(counter))
            elif values["agency_id"] is not None and found[1] != values["agency_id"]:
                self.error(row, "service_point", "%(counter)s does not belong to agency %(agency)s",
                           counter=repr(counter), agency=repr(agency))
            values["service_point_id"] = found[0] if found else None
        service = cells.get("service", "")
        if service:
            values["service_id"] = self.lookups.services.get(service)
            if values["service_id"] is None:
                self.error(row, "service", "unknown service code %(code)s", code=repr(service))

    def _answer_values(self, row: int, cells: dict[str, str], version) -> dict:
        questionnaire = questionnaire_of(version)
        slots = self.slot_cache.setdefault(version.id, rating_slots(questionnaire))
        values: dict = {"answers": {}}
        known = {q.code for q in questionnaire.all_questions()}
        for column in self.header:
            if column not in RESERVED_COLUMNS and column not in known and cells.get(column):
                self.error(row, column, "not a question of %(code)s version %(version)s",
                           code=questionnaire.code, version=questionnaire.version)
        parsed: dict[str, object] = {}
        for question in questionnaire.all_questions():
            text = cells.get(question.code, "")
            if question.type == "text":
                text = unquote_text_cell(text)
            try:
                parsed[question.code] = question.parse_answer(text, questionnaire.scale)
            except ValueError as exc:
                self.report.add(_answer_problem(exc, question.code).at(self.source, row, question.code))
        # Skip logic (FORMATS.md §1): a question whose show_if is not met has no answer; the form
        # never sends one, so a file that holds one is wrong rather than silently trimmed.
        skipped = questionnaire.skipped(parsed) if questionnaire.has_conditions() else frozenset()
        for question in questionnaire.all_questions():
            value = parsed.get(question.code)
            if value is None:
                continue
            if question.code in skipped:
                self.error(row, question.code, "this question does not apply to this response (it is asked "
                           "only when %(condition)s); leave the cell empty",
                           condition=question.show_if.describe())
                continue
            if question.code in slots:
                values[slot_column(slots[question.code])] = value
            else:
                values["answers"][question.code] = list(value) if isinstance(value, tuple) else value
        return values


def _check_header(source: str, header: list[str], report: ImportReport) -> None:
    for column in REQUIRED_COLUMNS:
        if column not in header:
            report.add(Problem("required column is missing", source=source, row=1, column=column))
    seen = set()
    for column in header:
        if column in seen:
            report.add(Problem("column appears twice", source=source, row=1, column=column))
        seen.add(column)


def _existing_ids(uids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(uids), 900):
        chunk = uids[start:start + 900]
        found.update(db.session.scalars(select(Response.uid).where(Response.uid.in_(chunk))))
    return found


def _read_header(reader, source: str, report: ImportReport) -> list[str] | None:
    try:
        header = next(reader)
    except StopIteration:
        report.add(Problem("the file is empty (a header row is required)", source=source, row=1))
        return None
    except UnicodeDecodeError:
        report.add(Problem(NOT_UTF8, source=source, row=1))
        return None
    except csv.Error as exc:
        report.add(Problem("cannot read CSV: %(reason)s", source=source, row=1, reason=str(exc)))
        return None
    header = [name.strip() for name in header]
    _check_header(source, header, report)
    return header if report.ok else None


def _checked_rows(reader, header: list[str], checker: _RowChecker, report: ImportReport) -> list[dict]:
    rows: list[dict] = []
    try:
        for row_number, cells in enumerate(reader, start=2):
            report.rows += 1
            if len(cells) != len(header):
                checker.error(row_number, "*", "has %(cells)s cells, the header has %(header)s",
                              cells=len(cells), header=len(header))
                continue
            values = checker.check(row_number, dict(zip(header, cells, strict=True)))
            if values is not None:
                values["_row"] = row_number
                rows.append(values)
    except UnicodeDecodeError:
        report.add(Problem(NOT_UTF8, source=checker.source, row=report.rows + 2))
    except csv.Error as exc:
        report.add(Problem("cannot read CSV: %(reason)s", source=checker.source, row=report.rows + 2,
                           reason=str(exc)))
    return rows


def import_responses(stream: io.TextIOBase, source: str) -> ImportReport:
    """Check every row, then store all rows in one transaction or none at all.

    The caller commits when the report is ok, and rolls back otherwise.
    """
    report = ImportReport()
    reader = csv.reader(stream)
    header = _read_header(reader, source, report)
    if header is None:
        return report
    checker = _RowChecker(source, header, _load_lookups(), report)
    rows = _checked_rows(reader, header, checker, report)
    taken = _existing_ids([row["uid"] for row in rows])
    for row in rows:
        if row["uid"] in taken:
            checker.error(row["_row"], "response_id", "%(value)s is already stored", value=repr(row["uid"]))
    if report.ok and rows:
        _store(rows)
        report.stored = len(rows)
    return report


def _store(rows: list[dict]) -> None:
    """Insert rows in batches inside the caller's transaction."""
    now = utcnow()
    # executemany needs the same keys in every row, so fill every column.
    template = {
        column.name: None for column in Response.__table__.columns if column.name != "id"
    }
    template.update(verified=False, suspicious=False, assisted=False, received_at=now)
    for start in range(0, len(rows), 2000):
        batch = []
        for row in rows[start:start + 2000]:
            values = dict(template)
            values.update((k, v) for k, v in row.items() if k in template)
            values["submitted_at"] = values["submitted_at"] or now
            batch.append(values)
        db.session.execute(Response.__table__.insert(), batch)
        report_cells.add_uids([values["uid"] for values in batch])


# analysis.questionnaire says "Q1: invalid answer '7' (expected an integer from 1 to 5)": the column
# already names the question, so the report drops the code and keeps the rest in words.
_INVALID_ANSWER = re.compile(r"invalid answer (?P<value>.*) \(expected (?P<domain>.*)\)", re.S)
_DOMAIN_INTEGER = re.compile(r"an integer from (?P<low>-?\d+) to (?P<high>-?\d+)")


def _answer_problem(error: ValueError, code: str) -> Problem:
    text = str(error).removeprefix(f"{code}: ")
    match = _INVALID_ANSWER.fullmatch(text)
    if match is None:
        return Problem("%(text)s", text=text)
    domain = _DOMAIN_INTEGER.fullmatch(match["domain"])
    if domain is not None:
        return Problem("invalid answer %(value)s (expected an integer from %(low)s to %(high)s)",
                       value=match["value"], low=domain["low"], high=domain["high"])
    return Problem("invalid answer %(value)s (expected %(domain)s)", value=match["value"],
                   domain=match["domain"])
