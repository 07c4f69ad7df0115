"""Migrations: one head, upgrade from empty, and exactly the models' schema."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db, migrate
from app.models import Base


def _databases(tmp_path):
    yield "sqlite", f"sqlite:///{tmp_path / 'migrated.db'}"
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        name = f"migtest_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield "postgresql", url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_single_head():
    app = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        config = migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_migrations_produce_exactly_the_models_schema(tmp_path):
    checked = []
    for dialect, url in _databases(tmp_path):
        app = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": url,
                          "INSTANCE_PATH": str(tmp_path / "instance")})
        with app.app_context():
            upgrade()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"compare_type": True, "render_as_batch": True}
                )
                diff = compare_metadata(context, Base.metadata)
                tables = set(inspect(connection).get_table_names())
            db.engine.dispose()
        assert diff == [], f"{dialect}: migrations differ from models: {diff}"
        assert {"agency", "service_point", "response", "questionnaire_version"} <= tables
        checked.append(dialect)
    if os.environ.get("TEST_DATABASE_URL"):
        assert checked == ["sqlite", "postgresql"]


@pytest.mark.parametrize("slot", [1, 40])
def test_rating_slots_exist(slot):
    from app.models import Response, slot_column

    assert slot_column(slot) in Response.__table__.columns


def test_stored_control_characters_are_cleaned_by_the_migration(tmp_path):
    """Answers stored with a NUL byte before input checks existed no longer break a PostgreSQL page."""
    checked = []
    for dialect, url in _databases(tmp_path):
        app = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": url,
                          "INSTANCE_PATH": str(tmp_path / "instance")})
        with app.app_context():
            upgrade(revision="c17f2b9a4e51")
            with db.engine.begin() as connection:
                connection.execute(text(
                    "INSERT INTO agency (code, name_vi, name_en, level, active, created_at) "
                    "VALUES ('A', 'A', 'A', 'province', true, '2026-01-01')"))
                connection.execute(text(
                    "INSERT INTO questionnaire (code, created_at) VALUES ('q', '2026-01-01')"))
                connection.execute(text(
                    "INSERT INTO questionnaire_version (questionnaire_id, version, status, definition, "
                    "created_at) VALUES (1, 1, 'published', '{}', '2026-01-01')"))
                for uid, answers in (("dirty", '{"COMMENT": "hello\\u0000world\\u0007!", "E": ["a\\u0001"]}'),
                                     ("clean", '{"COMMENT": "tab\\tand\\nline \\\\u0000 as typed"}')):
                    connection.execute(text(
                        "INSERT INTO response (uid, version_id, agency_id, channel, submitted_at, "
                        "received_at, answers, verified, suspicious) "
                        "VALUES (:uid, 1, 1, 'qr', '2026-01-01', '2026-01-01', "
                        + ("CAST(:answers AS JSON)" if dialect == "postgresql" else ":answers")
                        + ", false, false)"), {"uid": uid, "answers": answers})
            upgrade()
            with db.engine.connect() as connection:
                as_text = "answers::text" if dialect == "postgresql" else "answers"
                stored = dict(connection.execute(text(f"SELECT uid, {as_text} FROM response")).all())  # noqa: S608
            db.engine.dispose()

        assert json.loads(stored["dirty"]) == {"COMMENT": "helloworld!", "E": ["a"]}, dialect
        assert json.loads(stored["clean"]) == {"COMMENT": "tab\tand\nline \\u0000 as typed"}, dialect
        checked.append(dialect)
    if os.environ.get("TEST_DATABASE_URL"):
        assert checked == ["sqlite", "postgresql"]


def test_the_ministry_level_migration_up_and_down(tmp_path):
    """c3a91f0d7e52 lets an agency be a ministry (any other level is still refused); going back turns
    ministries into provinces, the top level the older schema knows."""
    from flask_migrate import downgrade
    from sqlalchemy.exc import IntegrityError

    insert = ("INSERT INTO agency (code, name_vi, name_en, level, active, created_at) "
              "VALUES (:code, 'a', 'b', :level, true, '2026-01-01')")
    checked = []
    for dialect, url in _databases(tmp_path):
        app = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": url,
                          "INSTANCE_PATH": str(tmp_path / "instance")})
        with app.app_context():
            upgrade(revision="e90af8c514b5")
            with pytest.raises(IntegrityError), db.engine.begin() as connection:
                connection.execute(text(insert), {"code": "B0", "level": "ministry"})
            upgrade(revision="c3a91f0d7e52")
            with db.engine.begin() as connection:
                connection.execute(text(insert), {"code": "B1", "level": "ministry"})
            with pytest.raises(IntegrityError), db.engine.begin() as connection:
                connection.execute(text(insert), {"code": "B2", "level": "hamlet"})
            downgrade(revision="e90af8c514b5")
            with db.engine.connect() as connection:
                levels = dict(connection.execute(text("SELECT code, level FROM agency")).all())
            db.engine.dispose()
        assert levels == {"B1": "province"}, dialect
        checked.append(dialect)
    if os.environ.get("TEST_DATABASE_URL"):
        assert checked == ["sqlite", "postgresql"]
