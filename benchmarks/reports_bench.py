"""How fast the leaders' overview and ranking pages answer, cold and warm.

Loads N synthetic responses to sipas-2017 (1,000 agencies under one province,
10 strata, 10,000 PSUs; the loader of db_aggregate_bench.py) spread over 12
months into a fresh SQLite file and, when it answers, a fresh PostgreSQL
database. A province leader then requests /reports/overview and
/reports/ranking through the Flask test client:

- cells: after loading, the report cells are built once from the responses
  (`flask reports warm` after an upgrade; afterwards every writer keeps them),
  and packed per month and column (what the first report does once the cells'
  writes have settled);
- cold: nothing cached in memory (a new worker, a restart, or right after new
  data): the aggregate table is summed from the report cells, then `analysis`;
- cold, other filters: the same with unweighted estimates (another table);
- warm: the same page again (data version unchanged);
- after a new response: a citizen's answer (with its cell update) arrived, so
  the page recomputes (its month read from the cells, the others from their packs).

The yardstick is a bare COUNT(*) over the response table in the same run.

    .venv/bin/python benchmarks/reports_bench.py [--responses 1000000]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-postgres] [--no-sqlite]
        [--keep DIR]   # keep (and reuse) DIR/bench.db and the PostgreSQL database reports_bench
        [--keep-database NAME]   # another name for that PostgreSQL database
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from db_aggregate_bench import _postgres_database, load_rows, setup_org, synthetic_columns  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import (  # noqa: E402
    Agency,
    QuestionnaireVersion,
    Response,
    User,
)
from app.services.questionnaires.versions import (  # noqa: E402
    SURVEYS_DIR,
    publish_questionnaire,
    rating_slots,
    validate_file,
)
from app.services.reports import cells as report_cells  # noqa: E402
from app.services.reports import estimates as rs  # noqa: E402

PAGES = ("/reports/overview", "/reports/ranking")

SPREAD = {
    "sqlite": "UPDATE response SET submitted_at = datetime('2025-01-15', '+' || (id % 12) || ' months')",
    "postgresql": "UPDATE response SET submitted_at = timestamptz '2025-01-15 00:00+00' "
                  "+ make_interval(months => (id % 12)::int)",
}


def _load(n: int) -> tuple[float, object]:
    questionnaire = validate_file(SURVEYS_DIR / "sipas-2017.yaml")
    version, _ = publish_questionnaire(questionnaire)
    db.session.commit()
    agency_ids, counter_ids = setup_org(version)
    slots = rating_slots(questionnaire)
    criteria_slots = [slots[code] for code in questionnaire.likert_codes()]
    seconds = load_rows(synthetic_columns(n), version.id, agency_ids, counter_ids, criteria_slots)
    started = time.perf_counter()
    db.session.execute(text(SPREAD[db.engine.dialect.name]))
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return seconds + time.perf_counter() - started, version.id


def _leader() -> User:
    known = db.session.scalar(select(User).where(User.email == "leader@example.org"))
    if known is not None:
        return known
    province = db.session.scalar(select(Agency).where(Agency.code == "P"))
    user = User(email="leader@example.org", role="leader", password_hash="-", agency_id=province.id,  # noqa: S106
                active=True, name="")
    db.session.add(user)
    db.session.commit()
    return user


# The process CPU time of the last request: on a shared machine the wall time also counts the
# other processes' turns (PostgreSQL's own work is in its server processes, not counted here).
_LAST_CPU = [0.0]


def _get(client, path: str) -> float:
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(path)
    seconds = time.perf_counter() - started
    _LAST_CPU[0] = time.process_time() - cpu
    assert response.status_code == 200, (path, response.status_code)
    return seconds


def _add_response(version_id: int, agency_id: int) -> None:
    # What the citizen form does: the row, then its cell, in one transaction.
    response = Response(uid=f"late-{time.time_ns()}", version_id=version_id, agency_id=agency_id,
                        channel="qr", submitted_at=datetime(2025, 12, 20, tzinfo=UTC), r1=5, answers={})
    db.session.add(response)
    db.session.flush()
    report_cells.add_response(version_id, response.id)
    db.session.commit()


def bench_database(url: str, n: int, label: str, warm_repeat: int = 5) -> dict:
    """Load n responses at url and time the two pages cold, warm and after new data."""
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "INSTANCE_PATH": tempfile.mkdtemp(), "RATELIMIT_ENABLED": False})
    out = {"database": label, "responses": n}
    with app.app_context():
        db.create_all()
        loaded = db.session.scalar(text("SELECT count(*) FROM response"))
        if loaded:  # --keep: the database of an earlier run, loaded and its cells built
            out["responses"] = loaded
            out["load_s"] = out["cells_build_s"] = float("nan")
            version_id = db.session.scalar(select(QuestionnaireVersion.id).order_by(QuestionnaireVersion.id))
        else:
            out["load_s"], version_id = _load(n)
            out["cells_build_s"] = _timed(lambda: report_cells.ensure_built(version_id))
            db.session.execute(text("ANALYZE"))  # what autovacuum's analyze does after such a write
            db.session.commit()
            # The first report after the cells' writes settled (5 minutes) packs them; here at once.
            app.config["REPORT_CELLS_SETTLE_SECONDS"] = 0.0
            out["cells_build_s"] += _timed(lambda: report_cells.pack(version_id))
            app.config.pop("REPORT_CELLS_SETTLE_SECONDS")
        out["cells"] = db.session.scalar(text("SELECT count(*) FROM report_cell"))
        user = _leader()
        agency_id = user.agency_id
        # The yardstick: a bare COUNT(*), median of 3, in the same run and process.
        scan = [_timed(lambda: db.session.scalar(text("SELECT COUNT(*) FROM response"))) for _ in range(3)]
        out["scan_s"] = statistics.median(scan)
        db.session.commit()
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        for path in PAGES:
            name = path.rsplit("/", 1)[1]
            rs.invalidate()  # nothing in memory: a new worker or a restart
            db.session.remove()
            out[f"{name}_cold_s"] = _get(client, path)
            out[f"{name}_cold_cpu_s"] = _LAST_CPU[0]
            out[f"{name}_warm_s"] = statistics.median(_get(client, path) for _ in range(warm_repeat))
            rs.invalidate()
            out[f"{name}_cold_unweighted_s"] = _get(client, path + "?weighting=unweighted")
        rs.invalidate()  # cold again, in a process that has answered before (templates compiled)
        db.session.remove()
        out["overview_cold_again_s"] = _get(client, PAGES[0])
        out["overview_cold_again_cpu_s"] = _LAST_CPU[0]
        _add_response(version_id, agency_id)
        out["overview_after_new_data_s"] = _get(client, PAGES[0])
        out["overview_after_new_data_cpu_s"] = _LAST_CPU[0]
        out["ranking_after_new_data_s"] = _get(client, PAGES[1])
        db.session.remove()
        db.engine.dispose()
    return out


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _table(results: list[dict]) -> str:
    head = ("| database | responses | load (s) | cells (built once, s) | COUNT(*) (s) "
            "| overview cold (s) | overview warm (s) | ranking cold (s) | ranking warm (s) "
            "| overview / ranking cold, unweighted (s) | overview / ranking after a new response (s) "
            "| overview cold again (s) | overview cold / COUNT(*) | after a new response / COUNT(*) "
            "| overview cold / cold again / after a new response, CPU of this process (s) |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    rows = [f"| {r['database']} | {r['responses']:,} | {r['load_s']:.1f} "
            f"| {r['cells']:,} ({r['cells_build_s']:.1f}) | {r['scan_s']:.2f} "
            f"| {r['overview_cold_s']:.2f} | {r['overview_warm_s']:.3f} | {r['ranking_cold_s']:.2f} "
            f"| {r['ranking_warm_s']:.3f} "
            f"| {r['overview_cold_unweighted_s']:.2f} / {r['ranking_cold_unweighted_s']:.2f} "
            f"| {r['overview_after_new_data_s']:.2f} / "
            f"{r['ranking_after_new_data_s']:.2f} | {r['overview_cold_again_s']:.2f} "
            f"| {r['overview_cold_s'] / r['scan_s']:.1f} "
            f"| {r['overview_after_new_data_s'] / r['scan_s']:.1f} "
            f"| {r['overview_cold_cpu_s']:.2f} / {r['overview_cold_again_cpu_s']:.2f} "
            f"/ {r['overview_after_new_data_cpu_s']:.2f} |\n" for r in results]
    return head + "".join(rows)


def _kept_postgres(url: str, n: int, name: str = "reports_bench") -> dict:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return bench_database(url.rsplit("/", 1)[0] + f"/{name}", n, "PostgreSQL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the databases (DIR/bench.db and PostgreSQL database reports_bench) "
                             "and reuse them when they exist: loading 1M responses takes minutes")
    parser.add_argument("--keep-database", default="reports_bench", metavar="NAME",
                        help="the PostgreSQL database --keep keeps (default reports_bench)")
    args = parser.parse_args()
    results = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            where = Path(args.keep or tmp)
            where.mkdir(parents=True, exist_ok=True)
            results.append(bench_database(f"sqlite:///{where}/bench.db", args.responses, "SQLite (WAL)"))
            print(results[-1], file=sys.stderr, flush=True)
    if args.keep and not args.no_postgres:
        results.append(_kept_postgres(args.postgres, args.responses, args.keep_database))
        print(results[-1], file=sys.stderr, flush=True)
    admin, name = (None, None) if args.no_postgres or args.keep else _postgres_database(args.postgres)
    if admin is not None:
        try:
            url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
            results.append(bench_database(url, args.responses, "PostgreSQL"))
            print(results[-1], file=sys.stderr, flush=True)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(_table(results))


if __name__ == "__main__":
    main()
