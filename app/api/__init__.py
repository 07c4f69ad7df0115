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
# Routes attach to bp: /api/v1/indices (leaders' reports), /api/v1/receipt-codes (one-stop system),
# /api/v1/openapi.json and /api/v1/docs (the description of all of them).
from app.api import cases, docs, indices, receipts  # noqa: E402,F401
