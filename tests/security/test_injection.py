"""SQL-injection strings in every filter and import; oversize bodies; binary, mis-encoded, huge and
malformed CSV files. None of them gets a 500, a database error on the page, or changes a row."""

from __future__ import annotations

import io
import os

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Agency, Response
from app.services.reports import estimates as rs
from tests.admin.conftest import login_as, make_user
from tests.security.conftest import row_counts

SQL = [
    "' OR '1'='1",
    "1; DROP TABLE response; --",
    "1 UNION SELECT password_hash, email FROM app_user --",
    "%' AND pg_sleep(2) IS NULL --",
    "\\'; SELECT sqlite_version(); --",
    "1)) OR ((1=1",
]
# Every query parameter the views read (grep request.args), plus the common ones a tool would try.
PARAMS = ["action", "agency", "by", "channel", "code", "end", "lang", "level", "low", "measure", "n", "next",
          "page", "questionnaire", "service", "start", "suspicious", "verified", "weighting", "q", "sort",
          "period", "from", "to", "survey", "id", "month"]
SKIP_GET = {"public.kiosk_service_worker"}
EXPORT = "/reports/export/responses.csv"
LEAKS = ("pbkdf2:", "scrypt:", "Traceback", "sqlalchemy", "psycopg", "sqlite3.", "syntax error",
         "OperationalError", "ProgrammingError")


def _get_routes(app) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.endswith("static") or rule.endpoint in SKIP_GET:
            continue
        values = {arg: 1 for arg in rule.arguments}
        if "fmt" in values:
            values["fmt"] = "svg"
        paths.append(rule.build(values, append_unknown=False)[1])
    return sorted(paths)


@pytest.fixture
def admin_client(client):
    """An administrator's client."""
    login_as(client, make_user("sqli-admin@example.org", "administrator"))
    db.session.commit()
    return client


def _problem(client, path: str, query: dict) -> str | None:
    try:
        response = client.get(path, query_string=query)
    except Exception as exc:  # noqa: BLE001  (TESTING propagates what would be a 500)
        return f"{type(exc).__name__}: {exc}"
    textual = response.mimetype.startswith(("text", "application/json"))
    body = response.get_data(as_text=True) if textual else ""
    if response.status_code >= 500:
        return f"status {response.status_code}"
    leaks = [leak for leak in LEAKS if leak in body]
    return f"leaks {leaks}" if leaks else None


def test_sql_strings_in_every_query_parameter_of_every_page(app, demo, admin_client):
    # Report cells are a cache that the first report page builds; build them first, so that the
    # counts below compare data only (which cells a page builds depends on today's date).
    list(rs.build_cells(lambda: 0.0))
    before = row_counts()
    routes = _get_routes(app)
    assert len(routes) >= 30
    problems = {}
    for i, path in enumerate(routes):
        # Known bug, tested on its own below.
        params = [p for p in PARAMS if not (p == "questionnaire" and path == EXPORT)]
        # Two strings per page, rotating, so that every string meets many pages in a few seconds.
        for payload in (SQL[i % len(SQL)], SQL[(i + 3) % len(SQL)]):
            problem = _problem(admin_client, path, dict.fromkeys(params, payload))
            if problem:
                problems[(path, payload)] = problem
    assert problems == {}
    assert row_counts() == before


def test_unknown_questionnaire_in_the_responses_export_is_a_clear_error(demo, admin_client):
    response = admin_client.get(EXPORT, query_string={"questionnaire": "' OR '1'='1"})
    response.get_data()
    assert response.status_code in (400, 404, 422)


def _export(runner, survey: str = "sipas-short") -> tuple[list[str], list[list[str]]]:
    import csv

    result = runner.invoke(args=["responses", "export", "--survey", survey])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    return rows[0], rows[1:]


def _csv(header: list[str], rows: list[list[str]]) -> str:
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _fresh_ids(header, rows, tag: str) -> list[list[str]]:
    column = header.index("response_id")
    return [[f"{tag}-{i}" if j == column else cell for j, cell in enumerate(row)]
            for i, row in enumerate(rows)]


def test_sql_strings_in_csv_codes_are_refused_and_store_nothing(runner, demo, tmp_path):
    header, rows = _export(runner)
    rows = _fresh_ids(header, rows[:5], "sqli")
    for i, row in enumerate(rows):
        row[header.index("agency")] = SQL[i % len(SQL)]
    path = tmp_path / "codes.csv"
    path.write_text(_csv(header, rows), encoding="utf-8")
    before = row_counts()
    result = runner.invoke(args=["responses", "import", str(path)])
    assert result.exit_code != 0 and "nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert row_counts() == before


def test_sql_strings_in_csv_comments_are_stored_as_plain_text(runner, demo, tmp_path):
    header, rows = _export(runner)
    comment = next(c for c in header if "COMMENT" in c)
    rows = _fresh_ids(header, rows[:len(SQL)], "sqlc")
    for row, payload in zip(rows, SQL, strict=True):
        row[header.index(comment)] = payload
    path = tmp_path / "comments.csv"
    path.write_text(_csv(header, rows), encoding="utf-8")
    result = runner.invoke(args=["responses", "import", str(path)])
    assert result.exit_code == 0, result.output
    stored = db.session.scalars(select(Response).where(Response.uid.like("sqlc-%"))).all()
    # The import drops the quote its export puts before text a spreadsheet would run ("'=…"); a quote
    # before anything else is the citizen's own and stays.
    from app.services.exchange.responses_csv import unquote_text_cell

    expected = [unquote_text_cell(p) for p in SQL]
    assert sorted(r.answers.get("COMMENT") for r in stored) == sorted(expected)
    assert db.session.scalar(select(db.func.count()).select_from(Agency)) > 0  # nothing dropped


def test_sql_strings_in_the_browser_upload(demo, admin_client, runner):
    header, rows = _export(runner)
    rows = _fresh_ids(header, rows[:3], "sqlu")
    rows[0][header.index("agency")] = SQL[1]
    before = row_counts()
    for endpoint in ("responses", "agencies", "counters", "services"):
        data = {"file": (io.BytesIO(_csv(header, rows).encode()), "upload.csv")}
        response = admin_client.post(f"/admin/{endpoint}/import", data=data,
                                     content_type="multipart/form-data")
        assert response.status_code in (200, 400, 422), (endpoint, response.status_code)
        assert not [leak for leak in LEAKS if leak in response.get_data(as_text=True)]
    assert row_counts() == before


# ------------------------------------------------------------------ oversize bodies


def test_an_oversize_survey_post_gets_the_friendly_413_page(app, client):
    from tests.public.conftest import build_org

    org = build_org()
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    before = row_counts()
    response = client.post(f"/s/{org.short.qr_token}", data={"q-COMMENT": "x" * 100_000})
    body = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Dữ liệu quá lớn" in body and "Mã lỗi: 413" in body
    assert row_counts() == before


def test_an_oversize_upload_gets_413_and_stores_nothing(app, admin_client):
    app.config["MAX_CONTENT_LENGTH"] = 128 * 1024
    before = row_counts()
    # 400 kB: under the test client's 500 kB spooling threshold, so it leaves no temporary file open.
    big = io.BytesIO(b"response_id,agency\n" + b"x,y\n" * 100_000)
    response = admin_client.post("/admin/responses/import", data={"file": (big, "big.csv")},
                                 content_type="multipart/form-data")
    assert response.status_code == 413
    assert "Error code" in response.get_data(as_text=True) or "Mã lỗi" in response.get_data(as_text=True)
    assert row_counts() == before


def test_a_json_api_body_over_the_limit_is_413_json(app, admin_client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = admin_client.post("/admin/api/volumes", data=b"{" + b" " * 4096 + b"}",
                                 content_type="application/json")
    assert response.status_code == 413


# ------------------------------------------------------------------ bad CSV files

BAD_FILES = {
    "binary.csv": bytes(range(256)) * 40,
    "png.csv": b"\x89PNG\r\n\x1a\n" + os.urandom(2000),
    "cp1258.csv": "response_id,agency\nx,Ủy ban nhân dân xã\n".encode("cp1258", errors="replace"),
    "latin1.csv": "response_id,agency,comment\n1,T01,Cán bộ tận tình ñ\n".encode("latin-1", "replace"),
    "utf16.csv": "response_id,agency\nx,T01\n".encode("utf-16"),
    "empty.csv": b"",
    "bom-only.csv": b"\xef\xbb\xbf",
    "quote.csv": b'response_id,agency\n"unterminated,T01\nx,"y\n',
    "nul.csv": b"response_id,agency\nx\x00,T01\n",
    "cr-only.csv": b"response_id,agency\rx,T01\r",
    "ragged.csv": b"a,b,c\n1\n1,2,3,4,5,6\n,,,,\n",
    "wide.csv": (",".join(f"c{i}" for i in range(5000)) + "\n").encode(),
    "long-cell.csv": b"response_id,agency\n" + b"x" * 300_000 + b",T01\n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_csv_files_on_the_command_line(runner, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name])
    before = row_counts()
    result = runner.invoke(args=["responses", "import", str(path)])
    assert result.exit_code != 0, result.output
    assert result.output.strip() and "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert row_counts() == before


@pytest.mark.parametrize("endpoint", ["responses", "agencies", "counters", "services", "volumes"])
def test_bad_csv_files_in_the_browser(admin_client, endpoint):
    before = row_counts()
    for name, content in BAD_FILES.items():
        response = admin_client.post(f"/admin/{endpoint}/import", data={"file": (io.BytesIO(content), name)},
                                     content_type="multipart/form-data")
        body = response.get_data(as_text=True)
        assert response.status_code in (200, 400, 413, 422), (endpoint, name, response.status_code)
        assert "Traceback" not in body and not [leak for leak in LEAKS if leak in body], (endpoint, name)
    assert row_counts() == before
