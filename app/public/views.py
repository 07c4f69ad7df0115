"""Public views: thin wrappers over app.services."""

from __future__ import annotations

from flask import abort, jsonify, render_template
from flask_babel import gettext as _

from app.public import bp
from app.services.health import check_database
from app.services.org import agency_tree, find_counter_by_token


@bp.get("/")
def home():
    """List the agencies taking part, as a tree."""
    level_names = {
        "province": _("Province"),
        "department": _("Department"),
        "district": _("District"),
        "commune": _("Commune"),
    }
    return render_template("public/home.html", agencies=agency_tree(), level_names=level_names)


@bp.get("/healthz")
def healthz():
    """Answer whether the app and its database work, as JSON."""
    ok, detail = check_database()
    body = {"status": "ok" if ok else "error", "database": "ok" if ok else detail}
    return jsonify(body), 200 if ok else 503


@bp.get("/s/<token>")
def survey_landing(token: str):
    """The counter's QR address: which agency and counter is rated, with its questionnaire."""
    counter = find_counter_by_token(token)
    if counter is None:
        abort(404)
    return render_template("public/landing.html", counter=counter)
