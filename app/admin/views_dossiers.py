"""Dossier lists: the latest dossiers in scope (contacts for survey administrators only) and the import."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.forms import UploadForm
from app.admin.uploads import finish_import
from app.services.dossiers import COLUMNS, REQUIRED_COLUMNS, dossier_counts, import_dossiers, list_dossiers
from app.services.registry import may
from app.web.guards import requires


@bp.get("/dossiers")
@requires("dossiers")
def dossiers():
    """The latest dossiers of the user's agencies; the holder's contact shown to administrators only."""
    return render_template("admin/dossiers.html", dossiers=list_dossiers(current_user),
                           counts=dossier_counts(current_user),
                           show_contacts=may(current_user, "dossier_contact"))


@bp.route("/dossiers/import", methods=["GET", "POST"])
@requires("dossiers")
def dossiers_import():
    """Import a dossier list (CSV or XLSX), all or nothing."""
    title = _("Import a dossier list")
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        report = import_dossiers(upload.read(), upload.filename or "upload.csv", current_user)
        return finish_import(report, title, url_for("admin.dossiers"))
    return render_template("admin/dossiers_import.html", form=form, title=title, columns=COLUMNS,
                           required=REQUIRED_COLUMNS)
