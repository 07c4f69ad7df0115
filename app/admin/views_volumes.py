"""Dossier volumes: a list, a monthly grid per agency, a CSV import, and a small JSON API."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.forms import ActionForm, UploadForm
from app.admin.uploads import run_import
from app.extensions import csrf, db
from app.inputs import whole_number
from app.models import Agency
from app.services.exchange import translated
from app.services.registry import (
    COLUMNS,
    agency_choices,
    import_volumes_csv,
    import_volumes_json,
    list_volumes,
    may,
    save_volume_grid,
    volume_grid,
)
from app.web.guards import ensure_scope, requires
from app.web.tokens import bearer_user


@bp.get("/volumes")
@requires("volumes")
def volumes():
    """The latest dossier figures in the user's scope."""
    return render_template("admin/volumes.html", volumes=list_volumes(current_user))


def _grid_agency(choices: list[tuple[int, str]]) -> Agency:
    asked = request.args.get("agency", "")
    agency_id = int(asked) if asked.isascii() and asked.isdigit() and len(asked) < 10 else None
    if agency_id is None:
        agency_id = current_user.agency_id or (choices[0][0] if choices else None)
    if agency_id is None:
        abort(404)
    ensure_scope(agency_id)
    return db.session.get(Agency, agency_id) or abort(404)


def _grid_year() -> int:
    asked = request.args.get("year", "")
    year = int(asked) if asked.isascii() and asked.isdigit() and len(asked) == 4 else date.today().year
    return year if 2000 <= year <= 2100 else date.today().year


def _typed_cells() -> dict[tuple[str, int], str]:
    """The grid's cells from the form: fields named v-ROWKEY-MONTH."""
    typed = {}
    for name, value in request.form.items():
        parts = name.split("-")
        month = whole_number(parts[2], 1, 12) if len(parts) == 3 and parts[0] == "v" else None
        if month is not None:
            typed[(parts[1], month)] = value[:32]
    return typed


@bp.route("/volumes/grid", methods=["GET", "POST"])
@requires("volumes")
def volumes_grid():
    """An agency's dossiers per month of a year, its total and each counter, typed in a grid."""
    choices = agency_choices(current_user, g.lang)
    agency = _grid_agency(choices)
    year = _grid_year()
    grid = volume_grid(agency, year)
    form = ActionForm()
    status, changed = 200, None
    if request.method == "POST" and form.validate_on_submit():
        changed = save_volume_grid(grid, _typed_cells(), current_user)
        db.session.commit()
        if not grid.errors:
            flash(_("Saved: %(n)s figure(s) changed.", n=changed), "ok")
            return redirect(url_for("admin.volumes_grid", agency=agency.id, year=year))
        status = 422
    errors = {key: translated(problem) for key, problem in grid.errors.items()}
    months = [(m, format_date(date(year, m, 1), "MMM"), format_date(date(year, m, 1), "MMMM y"))
              for m in range(1, 13)]
    return render_template("admin/volumes_grid.html", grid=grid, choices=choices, form=form, errors=errors,
                           months=months, changed=changed), status


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
