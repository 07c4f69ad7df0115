"""Error pages: bilingual HTML for people, JSON for the API; never a traceback, never a query.

No handler here reads the database: during an outage the page that says so
must not need it. A database that cannot be reached (refused connections, a
pool that stays empty, a lock held too long) is a 503 with Retry-After, on
every page; the citizen's form has its own handler (app.public.views) that
gives the answers back.
"""

from __future__ import annotations

from flask import current_app, g, jsonify, make_response, render_template, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from app.extensions import db, login_manager

RETRY_AFTER = "5"


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def no_user_query() -> None:
    """Let the page drawn by an error handler not load the logged-in user.

    Flask-Login puts `current_user` into every template's context, which loads the user
    from the database when the request has not yet done so: during an outage that query
    failed inside the error handler, and the visitor got a bare 500. The error pages do
    not use the user, so an error handler draws them as for a visitor.
    """
    if "_login_user" not in g:
        g._login_user = login_manager.anonymous_user()


def handle_http_error(error: HTTPException):
    """Render an HTTP error in the visitor's language."""
    no_user_query()
    code = error.code or 500
    # Keep the error's own headers (Allow on a 405, Retry-After, WWW-Authenticate), not its body type.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    if _wants_json():
        return jsonify(error=error.name, status=code, message=error.description), code, headers
    # `detail`: a sentence the page shows under its own (app.inputs.ControlCharacters sets it).
    return render_template("errors/error.html", code=code, error=error,
                           detail=getattr(error, "detail", None)), code, headers


def handle_unexpected_error(error: Exception):
    """Log an unexpected exception and show the 500 page instead of a traceback."""
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    if database_unreachable(error):
        return handle_database_unavailable(error)
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    forget_session()  # whatever failed, the page below starts from a clean transaction
    return handle_http_error(InternalServerError())


def database_unreachable(error: BaseException) -> bool:
    """Whether an exception says the database cannot be reached or used now (not a wrong query)."""
    return isinstance(error, (OperationalError, InterfaceError, PoolTimeout)) or (
        isinstance(error, DBAPIError) and error.connection_invalidated)


def forget_session() -> None:
    """Roll the session back without letting a dead connection raise again."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        try:
            db.session.remove()
        except SQLAlchemyError:
            pass


def log_unavailable(error: BaseException) -> None:
    """One warning line (no traceback: an outage is not a bug) naming the request and the error type."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    current_app.logger.warning("database unavailable on %s %s: %s", request.method, request.path,
                               type(cause).__name__)


def handle_database_unavailable(error: SQLAlchemyError):
    """A database error: a 503 when the database cannot be reached, else the 500 of a bug."""
    if not database_unreachable(error):
        return handle_unexpected_error(error)
    log_unavailable(error)
    forget_session()
    page = make_response(handle_http_error(ServiceUnavailable()))
    page.headers["Retry-After"] = RETRY_AFTER
    return page


def _end_session_quietly(exc: BaseException | None) -> None:
    # Flask-SQLAlchemy removes the session at teardown, and its rollback on a connection that died
    # meanwhile may raise: out of a teardown that becomes a bare 500 with an empty body, after the
    # page was already chosen. Removing it here first, with the error caught, keeps that page.
    try:
        db.session.remove()
    except Exception:  # noqa: BLE001 (whatever the driver raises; the connection is dropped anyway)
        current_app.logger.warning("the database session could not be closed cleanly")


def init_app(app) -> None:
    """Register the error pages (JSON under /api/) and the quiet end of the session."""
    for code in (400, 403, 404, 405, 413, 415, 429, 500, 503):
        app.register_error_handler(code, handle_http_error)
    app.register_error_handler(DBAPIError, handle_database_unavailable)
    app.register_error_handler(PoolTimeout, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected_error)
    # Registered after Flask-SQLAlchemy's own teardown, so it runs first (teardowns run in reverse).
    app.teardown_appcontext(_end_session_quietly)
