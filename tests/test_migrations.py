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


def test_upgrading_keeps_every_link_to_the_tables_it_changes(tmp_path):
    """From the last landed schema (e7a15c0b2f44) to the head, a case keeps its response and an audit
    event its user: on SQLite, copying and dropping response or app_user (batch mode) would set those
    links to NULL through their ON DELETE SET NULL. The new role and message kind are then accepted."""
    checked = []
    for dialect, url in _databases(tmp_path):
        app = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": url,
                          "INSTANCE_PATH": str(tmp_path / "instance")})
        with app.app_context():
            upgrade(revision="e7a15c0b2f44")
            with db.engine.begin() as connection:
                for statement in (
                    "INSERT INTO agency (code, name_vi, name_en, level, active, created_at) "
                    "VALUES ('A', 'A', 'A', 'province', true, '2026-01-01')",
                    "INSERT INTO app_user (email, name, password_hash, role, active, created_at) "
                    "VALUES ('u@x.vn', 'U', 'h', 'handler', true, '2026-01-01')",
                    "INSERT INTO audit_event (at, user_id, actor, action, target, detail) "
                    "VALUES ('2026-01-01', 1, 'u@x.vn', 'login', '', '{}')",
                    "INSERT INTO questionnaire (code, created_at) VALUES ('q', '2026-01-01')",
                    "INSERT INTO questionnaire_version (questionnaire_id, version, status, definition, "
                    "created_at) VALUES (1, 1, 'published', '{}', '2026-01-01')",
                    "INSERT INTO response (uid, version_id, agency_id, channel, submitted_at, received_at, "
                    "answers, verified, suspicious) VALUES ('r1', 1, 1, 'qr', '2026-01-01', '2026-01-01', "
                    "'{}', false, false)",
                    "INSERT INTO citizen_case (code, agency_id, response_id, source, status, assignee_id, "
                    "summary, opened_at, due_at, updated_at) VALUES ('C-1', 1, 1, 'rating', 'new', 1, '', "
                    "'2026-01-01', '2026-01-08', '2026-01-01')",
                ):
                    connection.execute(text(statement))
            upgrade()
            with db.engine.begin() as connection:
                links = connection.execute(text("SELECT c.response_id, c.assignee_id, e.user_id "
                                                "FROM citizen_case c, audit_event e")).one()
                connection.execute(text(
                    "INSERT INTO app_user (email, name, password_hash, role, active, created_at) "
                    "VALUES ('e@x.vn', 'E', 'h', 'enumerator', true, '2026-01-01')"))
                connection.execute(text(
                    "INSERT INTO outbox_message (key, kind, to_citizen, recipient, subject, body, payload, "
                    "status, attempts, created_at, next_attempt_at) VALUES ('k', 'sms', true, '+84', '', "
                    "'', '{}', 'pending', 0, '2026-01-01', '2026-01-01')"))
            db.engine.dispose()
        assert tuple(links) == (1, 1, 1), dialect
        checked.append(dialect)
    if os.environ.get("TEST_DATABASE_URL"):
        assert checked == ["sqlite", "postgresql"]
