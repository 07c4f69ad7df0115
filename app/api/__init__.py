"""JSON API, versioned under /api/v1."""

from flask import Blueprint, jsonify

from app.extensions import csrf

bp = Blueprint("api", __name__)
# The API authenticates by token, not by session cookie, so CSRF does not apply.
csrf.exempt(bp)


@bp.get("/")
def index():
    """Describe the API version."""
    return jsonify(name="sipas-platform", api_version=1)
from app.api import indices  # noqa: E402,F401  (issue 6: /api/v1/indices)
