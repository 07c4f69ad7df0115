"""Responses CSV (FORMATS.md §2): export, import, and the lossless round trip."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Response


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Response))


def _export(runner, *args) -> str:
    result = runner.invoke(args=["responses", "export", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_import_round_trip_is_lossless(runner, demo, tmp_path):
    exported = {code: _export(runner, "--survey", code) for code in ("sipas-2017", "sipas-short")}
    assert sum(len(_rows(text)) for text in exported.values()) == demo.responses
    before = db.session.scalars(select(Response).order_by(Response.uid)).all()
    snapshot = [(r.uid, r.weight, r.submitted_at, r.r1, r.r22, r.answers, r.verified) for r in before]
    db.session.execute(db.delete(Response))
    db.session.commit()
    for code, text in exported.items():
        path = tmp_path / f"{code}.csv"
        path.write_text(text, encoding="utf-8")
        result = runner.invoke(args=["responses", "import", str(path)])
        assert result.exit_code == 0, result.output
    after = db.session.scalars(select(Response).order_by(Response.uid)).all()
    assert [(r.uid, r.weight, r.submitted_at, r.r1, r.r22, r.answers, r.verified) for r in after] == snapshot
    for code, text in exported.items():
        assert _export(runner, "--survey", code) == text


def test_export_columns_follow_formats(runner, demo):
    header = _export(runner, "--survey", "sipas-short").splitlines()[0].split(",")
    assert header[:11] == ["response_id", "survey", "survey_version", "agency", "service_point",
                           "service", "channel", "submitted_at", "stratum", "psu", "weight"]
    # The platform's own flags; "assisted" (issue 16: an officer helped to fill the form in) is additive.
    assert header[11:14] == ["verified", "suspicious", "assisted"]
    # Paper questionnaires and interviews (issue 17): additive too.
    assert header[14:17] == ["interview_date", "enumerator", "interview_mode"]
    assert header[17:] == ["E1_1", "E2_1", "E3_1", "E4_1", "E5_1", "OVERALL", "COMMENT"]


def test_export_filters_by_agency_subtree_and_dates(runner, demo):
    district = _rows(_export(runner, "--survey", "sipas-2017", "--agency", "DEMO-H01"))
    assert district and all(r["agency"].startswith("DEMO-H01") for r in district)
    assert {r["agency"] for r in district} > {"DEMO-H01"}  # communes are included
    march = _rows(_export(runner, "--survey", "sipas-2017", "--from", "2025-03-01", "--to", "2025-03-31"))
    assert march and all(r["submitted_at"].startswith("2025-03") for r in march)
    assert all(r["submitted_at"].endswith("+07:00") for r in march)


def test_export_reads_the_database_a_batch_at_a_time(runner, demo, monkeypatch):
    """With 7 rows a batch the rows arrive 7 at a time, only as they are written, and the file is the same."""
    import re

    from sqlalchemy import event

    from app.services.exchange import responses_csv
    from app.services.exchange.responses_csv import ExportFilter, export_rows

    whole = _export(runner, "--survey", "sipas-2017", "--agency", "DEMO-H01")
    n = len(_rows(whole))
    assert n > 30 and n % 7, "several batches, the last one short"
    real, sizes, executions = responses_csv._row_batches, [], []

    def spy(result, size):
        for batch in real(result, size):
            sizes.append(len(batch))
            yield batch

    def record(conn, cursor, statement, parameters, context, executemany):
        if re.search(r"\bFROM response\b", statement):
            executions.append((context.execution_options.get("yield_per"), type(cursor).__name__))

    monkeypatch.setattr(responses_csv, "_row_batches", spy)
    monkeypatch.setattr(responses_csv, "EXPORT_BATCH_ROWS", 7)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        rows = export_rows(ExportFilter("sipas-2017", agency="DEMO-H01"), "Asia/Ho_Chi_Minh")
        head = [next(rows) for _ in range(8)]  # the header and the first batch
        assert sizes == [7], "only the first batch is read before its rows are written"
        head.append(next(rows))
        assert sizes == [7, 7]
        rows = [*head, *rows]
        assert sizes == [7] * (n // 7) + [n % 7]
        # The command line writes the same bytes with 7 rows a batch as with the default.
        assert _export(runner, "--survey", "sipas-2017", "--agency", "DEMO-H01") == whole
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(rows) == n + 1 and [r[0] for r in rows[1:]] == [r["response_id"] for r in _rows(whole)]
    assert len(executions) == 2 and all(yield_per == 7 for yield_per, _ in executions), executions
    if db.engine.dialect.name == "postgresql":
        assert all("Server" in cursor for _, cursor in executions), executions  # a server-side cursor


@pytest.mark.parametrize("args, message", [
    (["--survey", "nope"], "unknown questionnaire code 'nope'"),
    (["--survey", "sipas-2017", "--agency", "XX"], "unknown agency code 'XX'"),
    (["--survey", "sipas-2017", "--from", "March"], "--from must be a date"),
])
def test_export_bad_arguments(runner, demo, args, message):
    result = runner.invoke(args=["responses", "export", *args])
    assert result.exit_code == 1 and message in result.output


GOOD_ROW = {
    "response_id": "p-1", "survey": "sipas-short", "survey_version": "1", "agency": "DEMO-H01-X01",
    "service_point": "DEMO-H01-X01-Q1", "service": "XA-KS", "channel": "paper",
    "submitted_at": "2025-05-02T08:30:00+07:00", "stratum": "S1", "psu": "P1", "weight": "2.5",
    "E1_1": "4", "E2_1": "5", "E3_1": "", "E4_1": "3", "E5_1": "1", "OVERALL": "4", "COMMENT": "Tốt, nhanh",
}


def _write(tmp_path, rows: list[dict], name="in.csv"):
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_import_stores_a_good_file(runner, demo, tmp_path):
    result = runner.invoke(args=["responses", "import", str(_write(tmp_path, [GOOD_ROW]))])
    assert result.exit_code == 0, result.output
    stored = db.session.scalar(select(Response).where(Response.uid == "p-1"))
    assert (stored.r1, stored.r2, stored.r3, stored.r5, stored.r6) == (4, 5, None, 1, 4)
    assert stored.answers == {"COMMENT": "Tốt, nhanh"}
    assert stored.weight == 2.5 and stored.channel == "paper" and stored.psu == "P1"
    assert stored.submitted_at.isoformat() == "2025-05-02T01:30:00+00:00"


def test_import_reports_every_error_with_row_and_column_and_stores_nothing(runner, demo, tmp_path):
    before = _count()
    rows = [
        dict(GOOD_ROW),
        {**GOOD_ROW, "response_id": "p-2", "E1_1": "7", "weight": "0"},
        {**GOOD_ROW, "response_id": "p-3", "agency": "NOPE", "submitted_at": "2025-05-02 08:30"},
        {**GOOD_ROW, "response_id": "p-1", "channel": "fax"},
        {**GOOD_ROW, "response_id": "p-5", "survey_version": "9"},
    ]
    result = runner.invoke(args=["responses", "import", str(_write(tmp_path, rows))])
    assert result.exit_code == 1
    out = result.output
    for expected in ("row 3, column E1_1", "row 3, column weight", "row 4, column agency",
                     "row 4, column submitted_at", "row 5, column response_id",
                     "row 5, column channel", "row 6, column survey_version", "nothing was imported"):
        assert expected in out, (expected, out)
    assert "row 2," not in out
    assert _count() == before


def test_import_refuses_ids_already_stored(runner, demo, tmp_path):
    path = _write(tmp_path, [GOOD_ROW])
    assert runner.invoke(args=["responses", "import", str(path)]).exit_code == 0
    again = runner.invoke(args=["responses", "import", str(path)])
    assert again.exit_code == 1 and "row 2, column response_id: 'p-1' is already stored" in again.output


def test_import_missing_required_columns_and_bad_encoding(runner, demo, tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("response_id,agency\nx,DEMO\n", encoding="utf-8")
    result = runner.invoke(args=["responses", "import", str(path)])
    assert result.exit_code == 1 and "row 1, column survey: required column is missing" in result.output
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage\x00\x81")
    result = runner.invoke(args=["responses", "import", str(binary)])
    assert result.exit_code == 1 and "not UTF-8" in result.output


def test_import_rejects_answers_to_questions_of_another_questionnaire(runner, demo, tmp_path):
    row = {**GOOD_ROW, "E3_6": "4"}
    result = runner.invoke(args=["responses", "import", str(_write(tmp_path, [row]))])
    assert result.exit_code == 1 and "row 2, column E3_6: not a question of sipas-short" in result.output


@pytest.mark.parametrize("cell, stored", [
    ("'=HYPERLINK(\"http://x\")", "=HYPERLINK(\"http://x\")"),
    ("'+1", "+1"), ("'-2", "-2"), ("'@SUM(A1)", "@SUM(A1)"),
    ("''=x", "'=x"), ("' OR '1'='1", "' OR '1'='1"), ("'", "'"), ("plain", "plain"),
])
def test_text_answers_are_spreadsheet_safe_and_round_trip(runner, demo, tmp_path, cell, stored):
    row = {**GOOD_ROW, "COMMENT": cell}
    assert runner.invoke(args=["responses", "import", str(_write(tmp_path, [row]))]).exit_code == 0
    assert db.session.scalar(select(Response.answers).where(Response.uid == "p-1")) == {"COMMENT": stored}
    exported = [r for r in _rows(_export(runner, "--survey", "sipas-short")) if r["response_id"] == "p-1"]
    assert exported[0]["COMMENT"] == cell
