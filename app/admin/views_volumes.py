"""Dossier volumes: a list, a CSV import, and a small JSON API for the one-stop system."""

from __future__ import annotations

from flask import jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.forms import UploadForm
from app.admin.uploads import run_import
from app.extensions import csrf, db
from app.services.registry import COLUMNS, import_volumes_csv, import_volumes_json, list_volumes, may
from app.web.guards import requires
from app.web.tokens import bearer_user


@bp.get("/volumes")
@requires("volumes")
def volumes():
    """The latest dossier figures in the user's scope."""
    return render_template("admin/volumes.html", volumes=list_volumes(current_user))


@bp.route("/volumes/import", methods=["GET", "POST"])
@requires("volumes")
def volumes_import():
    """Import dossier volumes from CSV, all or nothing."""
    title = _("Import dossier volumes")
    form = UploadForm()
    if form.validate_on_submit():
        return run_import(form, import_volumes_csv, title, url_for("admin.volumes"), actor=current_user)
    return render_template("admin/import_form.html", form=form, title=title, columns=COLUMNS,
                           action=url_for("admin.volumes_import"),
                           note=_("month is YYYY-MM; leave service_point empty for the agency's total."))


def _api_user():
    user = bearer_user()
    if user is None and "Authorization" not in request.headers and current_user.is_authenticated:
        return current_user
    return user


@bp.post("/api/volumes")
@csrf.exempt  # authenticated by a bearer token, or a session with a JSON body no form can send
def volumes_api():
    """POST {"volumes": [{"agency", "service_point"?, "month": "YYYY-MM", "dossiers"}]} → stored count."""
    user = _api_user()
    if user is None:
        return jsonify(error="unauthorized", message="send Authorization: Bearer <token>"), 401
    if not may(user, "volumes"):
        return jsonify(error="forbidden", message="this account may not send dossier volumes"), 403
    if not request.is_json:
        return jsonify(error="unsupported media type", message="send application/json"), 415
    report = import_volumes_json(request.get_json(silent=True), user)
    if not report.ok:
        db.session.rollback()
        return jsonify(error="invalid", errors=report.errors, error_count=report.error_count), 422
    db.session.commit()
    return jsonify(stored=report.stored)
