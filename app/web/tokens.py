"""Bearer-token authentication shared by the JSON endpoints."""

from __future__ import annotations

from flask import jsonify, request

from app.models.auth import User
from app.services.accounts import user_for_api_token


def bearer_user() -> User | None:
    """The active account whose API token the request carries (Authorization: Bearer …)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    return user_for_api_token(header[len("Bearer "):].strip())


def api_error(status: int, error: str, message: str):
    """A JSON error body with its status."""
    return jsonify(error=error, message=message), status
