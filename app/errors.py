"""Error pages: bilingual HTML for people, JSON for the API; never a traceback."""

from __future__ import annotations

from flask import current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def handle_http_error(error: HTTPException):
    """Render an HTTP error in the visitor's language."""
    code = error.code or 500
    # Keep the error's own headers (Allow on a 405, Retry-After, WWW-Authenticate), not its body type.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    if _wants_json():
        return jsonify(error=error.name, status=code, message=error.description), code, headers
    return render_template("errors/error.html", code=code, error=error), code, headers


def handle_unexpected_error(error: Exception):
    """Log an unexpected exception and show the 500 page instead of a traceback."""
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_error(InternalServerError())
