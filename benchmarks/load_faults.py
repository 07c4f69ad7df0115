"""Faults under citizen load (the long versions of tests/faults/): nothing lost, nothing stored twice.

    .venv/bin/python benchmarks/load_faults.py [--db sqlite|postgresql|both] [--clients 16]
        [--duration 30] [--timeout 1.5]

On a fresh database and gunicorn (as benchmarks/load_submit.py builds them),
citizens run sessions back to back with a short patience (`--timeout`: a
phone that gives up and lets the citizen press "send" again, with the same
form and nonce). During the run, on a schedule:

- two gunicorn workers are killed with SIGKILL, one after the other;
- the database is locked against writers for 3 s (SQLite: BEGIN EXCLUSIVE;
  PostgreSQL: LOCK TABLE response), so answers time out and are sent again;
- on PostgreSQL, every connection of the app is terminated (a restart of the
  database server or a network cut).

Afterwards every thanked nonce must be stored exactly once and nothing stored
that was not thanked. The report lists what the citizens saw: server errors
(5xx), lost answers they sent again, and sessions that gave up.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server import Server, prepared_database  # noqa: E402
from faults import database_locked, drop_connections, kill_worker  # noqa: E402
from load_submit import Stats, check_stored, report, session_loop  # noqa: E402


def inject(server: Server, kind: str, log: list[str], start: float) -> None:
    """Run the fault schedule (seconds from the start of the load)."""
    schedule = [(4, "kill"), (9, "kill"), (14, "lock")]
    if kind == "postgresql":
        schedule.append((22, "drop"))
    for at, fault in schedule:
        time.sleep(max(0.0, start + at - time.monotonic()))
        stamp = f"t={time.monotonic() - start:5.1f} s"
        if fault == "kill":
            log.append(f"{stamp}  SIGKILL worker {kill_worker(server)}")
        elif fault == "lock":
            log.append(f"{stamp}  database locked for 3 s")
            with database_locked(server):
                time.sleep(3)
            log.append(f"t={time.monotonic() - start:5.1f} s  database unlocked")
        else:
            log.append(f"{stamp}  PostgreSQL: {drop_connections(server)} app connections terminated")


def run(kind: str, args) -> bool:
    """One database: load, faults, then the check."""
    with prepared_database(kind, demo_responses=200) as database, Server(database) as server:
        print(f"\n== {kind}: {args.clients} citizens for {args.duration:.0f} s, patience {args.timeout} s, "
              f"gunicorn {server.worker_count} workers x {server.thread_count} threads, "
              f"load average {os.getloadavg()[0]:.1f}")
        paths = server.survey_paths(full=4, short=4)
        stats, log = Stats(), []
        start = time.monotonic()
        deadline = start + args.duration
        threads = [threading.Thread(target=session_loop, daemon=True,
                                    args=(stats, deadline, 500 + i, server.port, paths, 0.2, 10**9,
                                          args.timeout))
                   for i in range(args.clients)]
        for thread in threads:
            thread.start()
        inject(server, kind, log, start)
        for thread in threads:
            thread.join(args.duration + 120)
        print("\n  faults:\n    " + "\n    ".join(log))
        report("citizen sessions under faults", stats, time.monotonic() - start)
        server_errors = sum(n for k, n in stats.errors.items() if " 5" in k)
        resent = sum(n for k, n in stats.errors.items() if "resent" in k)
        print(f"  answers a citizen had to send again: {resent}; server errors seen: {server_errors}")
        ok = check_stored(server, stats.thanked)
        print("  load average (1, 5, 15 min) at the end: " + ", ".join(f"{v:.1f}" for v in os.getloadavg()))
        print("  gunicorn warnings and errors:", "\n    ".join(["", *server.log_lines()]) or "none")
        return ok


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=1.5, help="a citizen's patience per request (s)")
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results = {kind: run(kind, args) for kind in kinds}
    verdicts = (f"{k}: {'nothing lost or doubled' if ok else 'FAILED'}" for k, ok in results.items())
    print("\n" + ", ".join(verdicts))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
