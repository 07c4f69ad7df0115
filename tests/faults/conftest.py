"""Fault fixtures: one gunicorn (deploy/gunicorn.conf.py, production mode) per module, over the
suite's database with a small organisation; tests compare what was stored during their own run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app import create_app
from app.extensions import db
from tests.conftest import _empty_tables, _test_config
from tests.public.conftest import build_org

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from bench_server import Database, Server, base_env  # noqa: E402


@pytest.fixture(scope="module")
def server(_schema, database_url, tmp_path_factory):
    """gunicorn with 2 workers x 2 threads over the suite's tables and a small organisation."""
    instance = tmp_path_factory.mktemp("faults")
    app = create_app(_test_config(database_url, instance))
    with app.app_context():
        _empty_tables()
        org = build_org()
        db.session.commit()
        tokens = {"short": org.short.qr_token, "full": org.full.qr_token}
        database = Database("postgresql" if database_url.startswith("postgresql") else "sqlite",
                            database_url, instance, base_env(database_url, instance))
        with Server(database, workers=2, threads=2) as running:
            running.paths = {name: f"/s/{token}" for name, token in tokens.items()}
            yield running
        _empty_tables()
        db.session.remove()
        db.engine.dispose()
