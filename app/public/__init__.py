"""Public blueprint: home page, health check, QR landing, survey form, thank-you."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from app.public import views  # noqa: E402,F401  (routes attach to bp)
