"""Does the responses export (FORMATS.md §2 CSV) stream in flat memory? Peak RSS and rows per second.

For each size (10,000, 100,000 and --responses, default 1,000,000) the script
loads that many synthetic responses to sipas-2017 (1,000 agencies; the loader
of db_aggregate_bench.py) into a fresh database: a SQLite file, and with
--db postgresql or --db both a PostgreSQL database named `export_bench` that
it creates and drops. It then starts gunicorn (deploy/gunicorn.conf.py, one
gthread worker, production mode) on 127.0.0.1, logs in over HTTP as a
province leader and downloads /reports/export/responses.csv for the whole
province and year.

Memory is read from the worker's /proc/<pid>/status: VmRSS before the
download (after a warm-up export of an empty month, which builds the report
context and imports everything), then its peak VmHWM during the download (the
peak is reset through /proc/<pid>/clear_refs just before it starts) and at
checkpoints of 10,000 / 100,000 / 1,000,000 rows received. The client parses
the CSV as it arrives and checks that every row has the header's cell count,
that the rows are as many as the responses loaded and that the response ids
are distinct.

    .venv/bin/python benchmarks/export_bench.py [--responses 1000000] [--db sqlite|postgresql|both]
        [--pg-admin postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.client
import io
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server import Database, Server, base_env  # noqa: E402
from db_aggregate_bench import load_rows, setup_org, synthetic_columns  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Agency  # noqa: E402
from app.services.accounts.users import create_user  # noqa: E402
from app.services.questionnaires.versions import (  # noqa: E402
    SURVEYS_DIR,
    publish_questionnaire,
    rating_slots,
    validate_file,
)

PG_DATABASE = "export_bench"  # created and dropped here; never the shared `test` database
EMAIL, PASSWORD = "leader@example.org", "export-bench-leader-1"
CHECKPOINTS = (10_000, 100_000, 1_000_000)
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
MB = 1024 * 1024


# ---------------------------------------------------------------- database


@contextlib.contextmanager
def fresh_database(kind: str, pg_admin: str) -> Iterator[tuple[str, Path]]:
    """A SQLite file in a temporary directory, or the PostgreSQL database export_bench (dropped after)."""
    with tempfile.TemporaryDirectory(prefix=f"export-bench-{kind}-") as tmp:
        instance = Path(tmp)
        if kind == "sqlite":
            yield f"sqlite:///{instance / 'bench.db'}", instance
            return
        import psycopg

        with psycopg.connect(pg_admin, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{PG_DATABASE}"')
        try:
            base = pg_admin.split("://", 1)[1].rsplit("/", 1)[0]
            yield f"postgresql+psycopg://{base}/{PG_DATABASE}", instance
        finally:
            with psycopg.connect(pg_admin, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')


def load(url: str, instance: Path, n: int) -> float:
    """Schema, questionnaire, 1,000 agencies, n responses and a province leader; return seconds."""
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        db.create_all()
        questionnaire = validate_file(SURVEYS_DIR / "sipas-2017.yaml")
        version, _ = publish_questionnaire(questionnaire)
        db.session.commit()
        agency_ids, counter_ids = setup_org(version)
        slots = [rating_slots(questionnaire)[code] for code in questionnaire.likert_codes()]
        seconds = load_rows(synthetic_columns(n), version.id, agency_ids, counter_ids, slots)
        db.session.execute(text("ANALYZE"))
        create_user(EMAIL, PASSWORD, "leader", db.session.scalar(select(Agency).where(Agency.code == "P")))
        db.session.commit()
        assert db.session.scalar(text("SELECT count(*) FROM response")) == n
        db.session.remove()
        db.engine.dispose()
    return seconds


# ---------------------------------------------------------------- server memory


def status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux 4.0+: write 5 to clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# ---------------------------------------------------------------- client


class Session:
    """A leader's cookie jar over http.client."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def _headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def _keep(self, response) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def open(self, method: str, path: str, body: dict | None = None, timeout: float = 900):
        """Send a request; return the connection and the response, whose body is not yet read."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = self._headers()
        data = None
        if body is not None:
            data = urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        self._keep(response)
        return conn, response

    def fetch(self, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
        conn, response = self.open(method, path, body)
        try:
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def login(self) -> None:
        status_code, page = self.fetch("GET", "/auth/login")
        token = CSRF.search(page)
        assert status_code == 200 and token, (status_code, page[:300])
        status_code, page = self.fetch("POST", "/auth/login",
                                       {"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD})
        assert status_code == 302, (status_code, page[:500])


class _Counting(io.RawIOBase):
    """Counts the bytes read from an HTTP response."""

    def __init__(self, response):
        self.response, self.bytes = response, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.response.readinto(buffer)
        self.bytes += n
        return n


def download(session: Session, worker: int, path: str, n: int) -> dict:
    """Stream the export, parse it as it arrives, sample the worker's memory at the checkpoints."""
    points = sorted({c for c in CHECKPOINTS if c < n} | {n})
    before = status(worker)
    peak_reset = reset_peak(worker)
    started = time.perf_counter()
    conn, response = session.open("GET", path)
    assert response.status == 200, (response.status, response.read()[:500])
    counting = _Counting(response)
    reader = csv.reader(io.TextIOWrapper(io.BufferedReader(counting, 1 << 16), encoding="utf-8", newline=""))
    header = next(reader)
    uid = header.index("response_id")
    first_byte = time.perf_counter() - started
    rows, bad, ids, at = 0, 0, set(), {}
    for row in reader:
        rows += 1
        bad += len(row) != len(header)
        ids.add(row[uid])
        if rows in points:
            at[rows] = status(worker)["VmHWM" if peak_reset else "VmRSS"]
    seconds = time.perf_counter() - started
    conn.close()
    after = status(worker)
    return {"rows": rows, "bad_rows": bad, "distinct_ids": len(ids), "columns": len(header),
            "bytes": counting.bytes, "seconds": seconds, "first_byte_s": first_byte,
            "rss_before": before["VmRSS"], "hwm_before": before["VmHWM"], "peak": after["VmHWM"],
            "peak_reset": peak_reset, "at": at}


def bench(kind: str, n: int, pg_admin: str) -> dict:
    """Load n responses, serve them with gunicorn, download the export and measure the worker."""
    with fresh_database(kind, pg_admin) as (url, instance):
        load_seconds = load(url, instance, n)
        env = base_env(url, instance)
        with Server(Database(kind, url, instance, env), workers=1, threads=2,
                    extra_env={"GUNICORN_TIMEOUT": "60"}) as server:
            (worker,) = server.workers()
            session = Session(server.port)
            session.login()
            rss_started = status(worker)["VmRSS"]
            # Warm-up: the report context (tree, aggregate table) and every import, with an empty period.
            code, body = session.fetch("GET", "/reports/export/responses.csv?start=2024-01&end=2024-01")
            assert code == 200 and body.count("\n") == 1, (code, body[:300])
            result = download(session, worker, "/reports/export/responses.csv?start=2025-01&end=2025-12", n)
            problems = server.log_lines()
    result.update(database="SQLite" if kind == "sqlite" else "PostgreSQL", responses=n, load_s=load_seconds,
                  rss_started=rss_started, log=problems)
    result["ok"] = result["rows"] == n and result["distinct_ids"] == n and result["bad_rows"] == 0
    return result


def table(results: list[dict]) -> str:
    head = ("| database | responses | CSV (MB) | worker RSS before (MB) | peak RSS during export (MB) "
            "| peak at 10k / 100k / 1M rows (MB) | peak − before (MB) | seconds | rows/s "
            "| rows = responses |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in results:
        at = " / ".join(f"{r['at'][c] / MB:.1f}" if c in r["at"] else "–" for c in CHECKPOINTS)
        lines.append(
            f"| {r['database']} | {r['responses']:,} | {r['bytes'] / MB:.1f} | {r['rss_before'] / MB:.1f} "
            f"| {r['peak'] / MB:.1f} | {at} | {(r['peak'] - r['rss_before']) / MB:+.1f} | {r['seconds']:.1f} "
            f"| {r['rows'] / r['seconds']:,.0f} | {'yes' if r['ok'] else 'NO'} ({r['rows']:,} rows, "
            f"{r['distinct_ids']:,} ids, {r['bad_rows']} malformed) |\n")
    return head + "".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000,
                        help="the largest size (default 1,000,000)")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="where to create and drop the database export_bench")
    args = parser.parse_args()
    sizes = sorted({s for s in CHECKPOINTS if s < args.responses} | {args.responses})
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results = []
    for kind in kinds:
        for n in sizes:
            results.append(bench(kind, n, args.pg_admin))
            r = results[-1]
            print(f"{r['database']} {n:,}: {r['rows']:,} rows in {r['seconds']:.1f} s, RSS before "
                  f"{r['rss_before'] / MB:.1f} MB, peak {r['peak'] / MB:.1f} MB (reset: {r['peak_reset']}), "
                  f"load {r['load_s']:.1f} s, first byte {r['first_byte_s']:.2f} s, ok {r['ok']}",
                  file=sys.stderr, flush=True)
            for line in r["log"]:
                print(f"  gunicorn: {line}", file=sys.stderr)
    print(table(results))
    if not all(r["ok"] for r in results):
        sys.exit("row count check failed")


if __name__ == "__main__":
    main()
