"""Exports of the leaders' reports: the indices table (CSV, Excel) and the responses CSV stream.

Cells a citizen or an administrator typed may start with = + - @: spreadsheet
programs would run them as formulas, so such text cells get a leading quote.
Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from app.services.exchange import statfiles
from app.services.exchange.responses_csv import ExportFilter, export_rows
from app.services.reports import estimates as rs
from app.services.reports import pages

COLUMNS = ["agency", "agency_name", "period_start", "period_end", "questionnaire", "level", "code",
           "measure", "estimate", "se", "ci_low", "ci_high", "n", "df", "cv", "flags", "suppressed",
           "rank", "rank_low", "rank_high", "rank_previous", "rank_change",
           "change", "change_ci_low", "change_ci_high", "change_p", "change_significant"]
SHEETS = (("overall", "Overall"), ("element", "Elements"), ("criterion", "Criteria"))
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Text that a spreadsheet would read as a formula gets a leading quote; other values pass."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def index_rows(root: int, filters: rs.ReportFilters, lang: str) -> list[list]:
    """The scope's indices and those of each unit below it, one row per statistic."""
    overview = pages.build_overview(root, filters)
    ranking = pages.build_ranking(root, filters, lang)
    scope = overview.scope
    name = scope.tree.name(root, lang)
    rows = [_row(scope, root, name, r) + [None] * 5 + _change(overview.change.get(r["code"]))
            for r in _ordered(overview.records)]
    for unit in ranking.rows:
        for r in _ordered(unit["records"].values()):
            ranked = r["code"] == unit["record"]["code"]
            rank = [unit["rank"], unit["rank_low"], unit["rank_high"], unit["previous_rank"],
                    unit["rank_change"]] if ranked else [None] * 5
            rows.append(_row(scope, unit["agency_id"], unit["name"], r) + rank
                        + _change(unit["changes"].get(r["code"])))
    return rows


def _change(diff: dict | None) -> list:
    """Change since the previous period: estimate, interval, p and whether it is significant (5 %)."""
    if not diff or diff["estimate"] is None:
        return [None] * 5
    return [diff["estimate"], diff["ci_low"], diff["ci_high"], diff["p"],
            {"same": "no"}.get(rs.significance(diff), "yes")]


def _ordered(records) -> list[dict]:
    """Overall first, then elements, then criteria (questionnaire order within a level)."""
    rank = {"overall": 0, "element": 1, "criterion": 2}
    return sorted(records, key=lambda r: rank[r["level"]])


def _row(scope, agency_id: int, name: str, record: dict) -> list:
    return [scope.tree.code[agency_id], name, scope.start, scope.end, scope.filters.questionnaire,
            record["level"], record["code"], record["measure"], record["estimate"], record["se"],
            record["ci_low"], record["ci_high"], record["n"], record["df"], record["cv"],
            ";".join(record["flags"]), "yes" if record["suppressed"] else "no"]


def indices_csv(rows: list[list]) -> str:
    """The indices table as CSV text (UTF-8 with header)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return out.getvalue()


def indices_workbook(rows: list[list]) -> bytes:
    """The indices table as an Excel workbook, one sheet per index level."""
    book = Workbook()
    book.remove(book.active)
    level_at = COLUMNS.index("level")
    for level, title in SHEETS:
        sheet = book.create_sheet(title)
        sheet.append(COLUMNS)
        for row in rows:
            if row[level_at] == level:
                sheet.append([safe_cell(v) for v in row])
        sheet.freeze_panes = "A2"
        for i, name in enumerate(COLUMNS, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = max(10, len(name) + 2)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _last_day(month: str) -> date:
    following = rs.shift_month(month, 1)
    return date.fromordinal(date(int(following[:4]), int(following[5:]), 1).toordinal() - 1)


def stream_responses_csv(agency_code: str, filters: rs.ReportFilters, start: str, end: str,
                         tz_name: str) -> Iterator[str]:
    """The responses of a scope and period in the FORMATS.md §2 CSV, chunk by chunk (flat memory)."""
    spec = ExportFilter(filters.questionnaire, agency=agency_code,
                        date_from=date(int(start[:4]), int(start[5:]), 1), date_to=_last_day(end))
    return _chunks(export_rows(spec, tz_name))


def responses_statistical(agency_code: str, filters: rs.ReportFilters, start: str, end: str, tz_name: str,
                          fmt: str, lang: str) -> bytes:
    """The same responses as an SPSS (sav) or Stata (dta) file, labelled in `lang` (issue 17)."""
    spec = ExportFilter(filters.questionnaire, agency=agency_code,
                        date_from=date(int(start[:4]), int(start[5:]), 1), date_to=_last_day(end))
    return statfiles.statistical_file_bytes(statfiles.statistical_table(spec, tz_name, lang), fmt)


def _chunks(rows: Iterable[list[str]], size: int = 1000) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for i, row in enumerate(rows, start=1):
        # The §2 file is a lossless data contract (export → import), so cells are written as stored.
        writer.writerow(row)
        if i % size == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
