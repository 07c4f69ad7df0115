"""Shared fixtures: a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL), app, client, runner."""

from __future__ import annotations

import os
from datetime import date

import pytest
from hypothesis import settings
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.models import Base

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")

# No per-example deadline: CI shares two cores with the database, and a slow example is
# not a wrong one (a deadline turned a loaded machine into flaky failures).
settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """The database every test uses: PostgreSQL when configured, else a SQLite file."""
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    """Create the schema once per session (the migrations test checks it equals the migrations)."""
    app = create_app(_test_config(database_url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


def _test_config(database_url: str, instance_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(instance_path),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PUBLIC_BASE_URL": "http://localhost",
    }


def _empty_tables() -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for name in tables:
            db.session.execute(text(f"DELETE FROM {name}"))  # noqa: S608 (our own table names)
    db.session.commit()


@pytest.fixture
def app(_schema, database_url, tmp_path):
    """A fresh app over empty tables."""
    app = create_app(_test_config(database_url, tmp_path / "instance"))
    with app.app_context():
        _empty_tables()
        # The per-version cell statements are compiled once per version id; emptied tables hand the
        # same ids to other questionnaires (a production database never reuses a published version's id).
        from app.services.reports import cells

        cells._ONE.clear()
        cells._INSERTING.clear()
        yield app
        db.session.rollback()
        _empty_tables()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """Real HTTP through the Flask test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """The Flask CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def demo(app):
    """A small deterministic demo province (2,000 responses)."""
    from app.services.exchange.demo import build_demo

    summary = build_demo(seed=7, responses=2000, end_month=date(2025, 12, 1))
    db.session.commit()
    return summary
