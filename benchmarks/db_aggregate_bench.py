"""How fast the database aggregates responses by agency and criterion.

Loads N synthetic responses to sipas-2017 (22 criteria, 1,000 agencies) into a
fresh SQLite file and, when it answers, a fresh PostgreSQL database; then times
app.services.reports.aggregates.criterion_totals grouped by agency (per-criterion sums) and
psu_totals_table grouped by agency (the design-based aggregate table the leaders'
reports read), and in the same run a bare full-table COUNT(*) as the yardstick.

    .venv/bin/python benchmarks/db_aggregate_bench.py [--responses 1000000]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Agency, ServicePoint  # noqa: E402
from app.services.questionnaires.versions import (  # noqa: E402
    SURVEYS_DIR,
    publish_questionnaire,
    rating_slots,
    validate_file,
)
from app.services.reports.aggregates import criterion_totals, psu_totals_table  # noqa: E402

AGENCIES = 1000


def synthetic_columns(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    """Response columns for n responses: agency, design columns and 22 ratings with gaps."""
    rng = np.random.default_rng(seed)
    agency = rng.integers(0, AGENCIES, n)
    latent = rng.normal(0.4, 0.6, n) + rng.normal(0, 0.35, AGENCIES)[agency]
    ratings = 1 + np.searchsorted([-1.9, -1.1, -0.25, 0.95], latent[:, None] + rng.normal(0, 0.5, (n, 22)))
    ratings = ratings.astype(float)
    ratings[rng.random((n, 22)) < 0.05] = np.nan
    return {
        "agency": agency,
        "weight": np.round(rng.uniform(1, 10, n), 3),
        "stratum": agency // 100,
        "psu": agency * 10 + rng.integers(0, 10, n),
        "ratings": ratings,
    }


def setup_org(version) -> tuple[list[int], list[int]]:
    """1,000 agencies with one counter each; returns their ids."""
    province = Agency(code="P", name_vi="Tỉnh", name_en="Province", level="province")
    db.session.add(province)
    agencies = [Agency(code=f"A{i:04d}", name_vi=f"Cơ quan {i}", name_en=f"Agency {i}",
                       level="commune", parent=province) for i in range(AGENCIES)]
    db.session.add_all(agencies)
    counters = [ServicePoint(code=f"A{i:04d}-Q1", agency=a, name_vi="Quầy 1", name_en="Counter 1",
                             questionnaire_id=version.questionnaire_id) for i, a in enumerate(agencies)]
    db.session.add_all(agencies + counters)
    db.session.commit()
    return [a.id for a in agencies], [c.id for c in counters]


def load_rows(cols, version_id, agency_ids, counter_ids, slots) -> float:
    """Bulk-load the responses (COPY on PostgreSQL, executemany on SQLite); return seconds."""
    names = ["uid", "version_id", "agency_id", "service_point_id", "channel", "submitted_at",
             "received_at", "stratum", "psu", "weight", "verified", "suspicious", "answers"]
    names += [f"r{slot}" for slot in slots]
    now = datetime(2025, 6, 1, tzinfo=UTC)
    agency_ids, counter_ids = np.array(agency_ids), np.array(counter_ids)
    started = time.perf_counter()
    connection = db.engine.raw_connection()
    try:
        if db.engine.dialect.name == "postgresql":
            _copy_postgres(connection, cols, version_id, agency_ids, counter_ids, names, now)
        else:
            _insert_sqlite(connection, cols, version_id, agency_ids, counter_ids, names, now)
        connection.commit()
    finally:
        connection.close()
    return time.perf_counter() - started


def _row_tuples(cols, version_id, agency_ids, counter_ids, stamp, start, stop):
    ratings = cols["ratings"]
    for i in range(start, stop):
        a = cols["agency"][i]
        yield (f"b{i}", version_id, int(agency_ids[a]), int(counter_ids[a]), "qr", stamp, stamp,
               f"S{cols['stratum'][i]}", f"P{cols['psu'][i]}", float(cols["weight"][i]), False, False,
               "{}", *(None if np.isnan(v) else int(v) for v in ratings[i]))


def _insert_sqlite(connection, cols, version_id, agency_ids, counter_ids, names, now):
    stamp = now.replace(tzinfo=None).isoformat(sep=" ")
    sql = f"INSERT INTO response ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"  # noqa: S608
    cursor = connection.cursor()
    n = len(cols["agency"])
    for start in range(0, n, 50_000):
        cursor.executemany(sql, _row_tuples(cols, version_id, agency_ids, counter_ids, stamp,
                                             start, min(n, start + 50_000)))


def _copy_postgres(connection, cols, version_id, agency_ids, counter_ids, names, now):
    cursor = connection.cursor()
    n = len(cols["agency"])
    with cursor.copy(f"COPY response ({', '.join(names)}) FROM STDIN") as copy:
        for row in _row_tuples(cols, version_id, agency_ids, counter_ids, now, 0, n):
            copy.write_row(row)


def timed(fn, repeat: int) -> list[float]:
    """Wall-clock seconds of each of `repeat` calls."""
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def bench_database(url: str, n: int, label: str) -> dict:
    """Load n responses into the database at url and time the aggregates."""
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "INSTANCE_PATH": tempfile.mkdtemp()})
    with app.app_context():
        db.create_all()
        questionnaire = validate_file(SURVEYS_DIR / "sipas-2017.yaml")
        version, _ = publish_questionnaire(questionnaire)
        db.session.commit()
        agency_ids, counter_ids = setup_org(version)
        cols = synthetic_columns(n)
        slots = rating_slots(questionnaire)
        criteria_slots = [slots[code] for code in questionnaire.likert_codes()]
        load_seconds = load_rows(cols, version.id, agency_ids, counter_ids, criteria_slots)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        count = db.session.scalar(text("SELECT count(*) FROM response"))
        assert count == n, (count, n)
        scan = timed(lambda: db.session.scalar(text("SELECT count(*) FROM response WHERE weight > 0")), 3)
        agg_times = timed(lambda: criterion_totals(version.id, questionnaire, by=("agency",)), 3)
        design = timed(lambda: psu_totals_table(version.id, questionnaire, by=("agency",)), 1)
        totals = criterion_totals(version.id, questionnaire, by=("agency",))
        _check_against_numpy(totals, cols, agency_ids)
        db.session.remove()
        db.engine.dispose()
    return {
        "database": label, "responses": n, "load_s": load_seconds,
        "scan_s": statistics.median(scan), "agency_x_criterion_s": statistics.median(agg_times),
        "agency_x_criterion_first_s": agg_times[0], "agency_stratum_psu_x_criterion_s": design[0],
    }


def _check_against_numpy(totals, cols, agency_ids) -> None:
    """The database sums must equal numpy's on the same data (first criterion)."""
    ratings = cols["ratings"][:, 0]
    answered = np.bincount(cols["agency"], weights=~np.isnan(ratings), minlength=AGENCIES)
    by_id = {t.group[0]: t.answered for t in totals if t.code == "E1_1"}
    got = np.array([by_id.get(agency_id, 0) for agency_id in agency_ids])
    assert np.array_equal(got, answered.astype(int)), "database and numpy disagree"


def _postgres_database(url: str):
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - report and skip an unreachable server
        print(f"PostgreSQL not available ({type(exc).__name__}); skipped", file=sys.stderr)
        return None, None
    return admin, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(bench_database(f"sqlite:///{tmp}/bench.db", args.responses, "SQLite (WAL)"))
    admin, name = _postgres_database(args.postgres)
    if admin is not None:
        try:
            url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
            results.append(bench_database(url, args.responses, "PostgreSQL"))
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    out = io.StringIO()
    out.write("| database | responses | load (s) | full scan COUNT(*) (s) | by agency × 22 criteria (s) "
              "| first run (s) | psu_totals_table by agency (s) | aggregate / scan |\n")
    out.write("|---|---|---|---|---|---|---|---|\n")
    for r in results:
        out.write(f"| {r['database']} | {r['responses']:,} | {r['load_s']:.1f} | {r['scan_s']:.2f} | "
                  f"{r['agency_x_criterion_s']:.2f} | {r['agency_x_criterion_first_s']:.2f} | "
                  f"{r['agency_stratum_psu_x_criterion_s']:.2f} | "
                  f"{r['agency_x_criterion_s'] / r['scan_s']:.1f}× |\n")
    print(out.getvalue())


if __name__ == "__main__":
    main()
