"""A fresh database and a gunicorn on 127.0.0.1 for the load and fault benchmarks and tests.

`prepared_database("sqlite" | "postgresql")` creates, migrates and fills a
database (a SQLite file in a temporary directory, or a PostgreSQL database
created for the run and dropped afterwards); `Server` runs gunicorn with
deploy/gunicorn.conf.py against it, in production mode, and stops it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Database:
    """Where a prepared database lives, and the environment the app needs to reach it."""

    kind: str
    url: str
    instance: Path
    env: dict[str, str]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_answers(url: str = REDIS_URL) -> bool:
    """Whether Redis answers a PING at `url` (host and port only)."""
    match = re.match(r"redis://([^:/]+):(\d+)", url)
    if not match:
        return False
    try:
        with socket.create_connection((match.group(1), int(match.group(2))), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def base_env(url: str, instance: Path) -> dict[str, str]:
    """The production environment of the app under test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "TEST_DATABASE"))}
    env.update({
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(instance),
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "FORWARDED_HOPS": "1",
        "FLASK_APP": "wsgi.py",
        "RATELIMIT_STORAGE_URI": REDIS_URL if redis_answers() else "memory://",
    })
    return env


def flask(env: dict[str, str], *args: str) -> str:
    """Run one `flask` command in the checkout; raise with its output if it fails."""
    done = subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextlib.contextmanager
def _postgres_database(name: str) -> Iterator[str]:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def prepared_database(kind: str, demo_responses: int = 500) -> Iterator[Database]:
    """A migrated database with the standard questionnaires and a demo province."""
    with tempfile.TemporaryDirectory(prefix=f"sipas-bench-{kind}-") as tmp:
        instance = Path(tmp)
        if kind == "sqlite":
            database = contextlib.nullcontext(f"sqlite:///{instance / 'bench.db'}")
        else:
            database = _postgres_database(f"load_submit_bench_{os.getpid()}")
        with database as url:
            env = base_env(url, instance)
            flask(env, "db", "upgrade")
            flask(env, "surveys", "load", *sorted(str(p) for p in (ROOT / "surveys").glob("*.yaml")))
            flask(env, "demo", "--responses", str(demo_responses))
            yield Database(kind, url, instance, env)


def production_settings() -> dict:
    """deploy/gunicorn.conf.py's settings on this machine, as production reads them (no GUNICORN_* set)."""
    import runpy

    saved = {k: v for k, v in os.environ.items() if k.startswith("GUNICORN_")}
    for name in saved:
        del os.environ[name]
    try:
        return runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    finally:
        os.environ.update(saved)


class Server:
    """gunicorn with deploy/gunicorn.conf.py on 127.0.0.1, as the systemd unit starts it.

    Workers and threads are the production file's unless given.
    """

    def __init__(self, database: Database, port: int = 0, workers: int | None = None,
                 threads: int | None = None, extra_env: dict[str, str] | None = None):
        self.database = database
        self.port = port or free_port()
        settings = production_settings()
        self.worker_count = workers or settings["workers"]
        self.thread_count = threads or settings["threads"]
        self.env = dict(database.env)
        self.env.update({
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(self.worker_count),
            "GUNICORN_THREADS": str(self.thread_count),
            "GUNICORN_ACCESSLOG": "/dev/null",
            "GUNICORN_LOGLEVEL": "warning",
            # Names this server's PostgreSQL connections, so a fault can cut exactly those.
            "PGAPPNAME": f"sipas-bench-{self.port}",
            **(extra_env or {}),
        })
        self.log = database.instance / f"gunicorn-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 60) -> None:
        """Start gunicorn and wait until /healthz answers 200."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log.read_text()}")
            if self._healthy():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log.read_text()}")

    def _healthy(self) -> bool:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def log_lines(self, limit: int = 20) -> list[str]:
        """gunicorn's warnings and errors so far (the log level is 'warning'), the last `limit` of them."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return lines[-limit:]

    def workers(self) -> list[int]:
        """The process ids of gunicorn's current workers."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True,
                             text=True, check=False).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        """Stop gunicorn gracefully (TERM to the master), then for good."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def survey_paths(self, full: int, short: int) -> list[str]:
        """QR paths of `full` counters on the SIPAS form and `short` on the short form."""
        out = flask(self.env, "counters", "list", "--format", "csv")
        urls = [line.rsplit(",", 1)[1] for line in out.splitlines()[1:] if "/s/" in line]
        questionnaire = self._questionnaire_of_counters()
        paths = {"sipas-2017": [], "sipas-short": []}
        for url in urls:
            path = "/s/" + url.rsplit("/s/", 1)[1]
            code = questionnaire.get(path.rsplit("/", 1)[1])
            if code in paths:
                paths[code].append(path)
        return paths["sipas-2017"][:full] + paths["sipas-short"][:short]

    def _questionnaire_of_counters(self) -> dict[str, str]:
        sql = ("SELECT sp.qr_token, q.code FROM service_point sp JOIN questionnaire q "
               "ON q.id = sp.questionnaire_id WHERE NOT sp.qr_token_revoked AND sp.active")
        return dict(self.query(sql))

    def query(self, sql: str) -> list[tuple]:
        """Run a read-only query against the database under test."""
        url = self.database.url
        if url.startswith("sqlite:///"):
            with contextlib.closing(sqlite3.connect(url[len("sqlite:///"):], timeout=30)) as conn:
                return conn.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            return conn.execute(sql).fetchall()

    def stored_nonces(self) -> list[str]:
        """The nonce of every response submitted through a form (demo rows have none)."""
        return [row[0] for row in self.query("SELECT nonce FROM response WHERE nonce IS NOT NULL")]
