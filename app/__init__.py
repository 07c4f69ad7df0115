"""Application factory: settings, extensions, blueprints, CLI and error pages."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, current_app, g, request
from flask_babel import refresh
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.security import safe_join

from app.config import load_config
from app.extensions import babel, compress, csrf, db, limiter, login_manager, migrate
from app.inputs import init_app as init_input_checks
from app.models.base import render_migration_item
from app.security import init_app as init_security_headers

LANG_COOKIE = "lang"


def create_app(config: dict | None = None) -> Flask:
    """Create the Flask app; `config` overrides settings read from the environment."""
    app = Flask(__name__, instance_path=None)
    app.config.from_mapping(load_config(config))
    app.instance_path = app.config["INSTANCE_DIR"]
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def select_locale() -> str:
    """Vietnamese by default; ?lang= switches, and the cookie remembers the choice."""
    languages = ("vi", "en")
    asked = request.args.get("lang")
    if asked in languages:
        return asked
    remembered = request.cookies.get(LANG_COOKIE)
    return remembered if remembered in languages else "vi"


def _remember_language(response):
    asked = request.args.get("lang")
    if asked in ("vi", "en") and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(
            LANG_COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


def _static_in_one_piece(response):
    """A static text file read into memory, so Flask-Compress compresses it whole (and the file is
    closed with the response); its streaming mode would leave the file open."""
    if request.endpoint == "static" and response.direct_passthrough and response.status_code == 200 \
            and response.mimetype in current_app.config["COMPRESS_MIMETYPES"]:
        response.direct_passthrough = False
        response.make_sequence()
    return response


class _StaticCompressedCache:
    """Flask-Compress's cache: the compressed bytes of static files only (the 1.5 MB plotly bundle took
    0.2-0.3 s of CPU to compress on every uncached request). Pages have an empty key: never kept."""

    def __init__(self) -> None:
        self._items: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        """The compressed bytes kept under key, if any."""
        return self._items.get(key) if not key.endswith(";") else None

    def set(self, key: str, value: bytes) -> None:
        """Keep the compressed bytes of a static file (a handful of files per worker)."""
        if not key.endswith(";"):
            self._items[key] = value


def _static_compressed_key(request_) -> str:
    """The file's path and modification time for a whole static file; empty otherwise."""
    if request_.endpoint != "static" or request_.headers.get("Range") or request_.method != "GET":
        return ""
    path = safe_join(current_app.static_folder, (request_.view_args or {}).get("filename", ""))
    try:
        return f"{request_.path}@{os.stat(path).st_mtime_ns}" if path else ""
    except OSError:
        return ""


def register_extensions(app: Flask) -> None:
    """Bind every extension to this app."""
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(Path(__file__).resolve().parent.parent / "migrations"),
        compare_type=True,
        render_as_batch=True,  # SQLite can only alter tables by copying them
        render_item=render_migration_item,
    )
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    limiter.init_app(app)
    login_manager.init_app(app)
    app.config.setdefault("COMPRESS_CACHE_BACKEND", _StaticCompressedCache)
    app.config.setdefault("COMPRESS_CACHE_KEY", _static_compressed_key)
    compress.init_app(app)
    # Registered after Flask-Compress, so it runs before it: see _static_in_one_piece.
    app.after_request(_static_in_one_piece)
    init_security_headers(app)
    app.after_request(_remember_language)

    @app.before_request
    def _store_lang() -> None:
        # Babel caches the locale on the app context, which may outlive one request.
        refresh()
        g.lang = select_locale()

    @app.context_processor
    def _inject_lang() -> dict:
        return {"lang": g.get("lang", "vi")}

    # After the language is known: a refused request's page is in the visitor's language.
    init_input_checks(app)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    # SQLite needs these per connection: concurrent readers (WAL), waiting on
    # locks instead of failing, and enforced foreign keys.
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def register_blueprints(app: Flask) -> None:
    """Register the public, admin, reports and API blueprints."""
    from app.admin import bp as admin_bp
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.public import bp as public_bp
    from app.reports import bp as reports_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(reports_bp, url_prefix="/reports")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(auth_bp, url_prefix="/auth")


def register_errorhandlers(app: Flask) -> None:
    """Friendly bilingual error pages (JSON under /api/)."""
    from app.errors import init_app as init_error_pages

    init_error_pages(app)


def register_commands(app: Flask) -> None:
    """Register the CLI groups (surveys, responses, counters, demo)."""
    from app.admin import commands_invitations  # noqa: F401 (adds invite, remind, tracking to campaigns)
    from app.admin.commands import audit_cli, users_cli
    from app.admin.commands_campaigns import campaigns_cli
    from app.admin.commands_cases import cases_cli, outbox_cli
    from app.admin.commands_dossiers import dossiers_cli
    from app.admin.commands_totals import totals_cli
    from app.admin.commands_volumes import volumes_cli
    from app.commands import counters_cli, demo_command, responses_cli, surveys_cli

    for command in (surveys_cli, responses_cli, counters_cli, demo_command, users_cli, audit_cli, outbox_cli,
                    cases_cli, volumes_cli):
        app.cli.add_command(command)
    app.cli.add_command(dossiers_cli)
    app.cli.add_command(totals_cli)
    app.cli.add_command(campaigns_cli)
