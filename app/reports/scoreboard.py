"""The optional public scoreboard: published indices per agency, no comments, no login.

Off unless the configuration sets PUBLIC_SCOREBOARD; then anyone may read it.
Estimates that fail the reporting rules (too few responses, too noisy) are not shown.
"""

from __future__ import annotations

from flask import abort, current_app, g, render_template

from app.reports import bp
from app.services.reports import public_scoreboard


@bp.get("/scoreboard")
def scoreboard():
    """Indices of every agency under each top agency, for transparency (when enabled)."""
    if not current_app.config.get("PUBLIC_SCOREBOARD"):
        abort(404)
    return render_template("reports/scoreboard.html", boards=public_scoreboard(g.lang))
