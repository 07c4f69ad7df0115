"""Faults to inject into a running server: a killed worker, a locked or unreachable database.

Used by benchmarks/load_faults.py (long runs) and tests/faults/ (a few seconds each).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import threading
import time

from bench_server import Server


def kill_worker(server: Server) -> int:
    """SIGKILL one gunicorn worker (the arbiter starts another); returns its pid."""
    workers = server.workers()
    if not workers:
        raise RuntimeError("gunicorn has no worker to kill")
    os.kill(workers[0], signal.SIGKILL)
    return workers[0]


def _pg_url(server: Server) -> str:
    return server.database.url.replace("postgresql+psycopg://", "postgresql://")


@contextlib.contextmanager
def database_locked(server: Server) -> None:
    """Hold the response table locked against writers (SQLite: the whole file) while the block runs."""
    url = server.database.url
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///"):], timeout=30, isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    import psycopg

    with psycopg.connect(_pg_url(server)) as conn:
        conn.execute("LOCK TABLE response IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.rollback()


def hold_lock_later(server: Server, after: float, seconds: float) -> threading.Thread:
    """In the background: wait `after` seconds, then keep the database locked for `seconds`."""
    def run() -> None:
        time.sleep(after)
        with database_locked(server):
            time.sleep(seconds)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def drop_connections(server: Server) -> int:
    """PostgreSQL only: terminate the server's connections (and no one else's: they carry its
    application_name), as a database restart or a network cut would; returns how many were cut."""
    import psycopg

    with psycopg.connect(_pg_url(server), autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = %s", (server.env["PGAPPNAME"],)).fetchall()
    return len(rows)
