"""Public blueprint: home page, health check, QR survey, receipt codes, kiosk mode, thank-you."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from app.public import cases, cli, invitations, views  # noqa: E402,F401  (routes and commands attach to bp)
