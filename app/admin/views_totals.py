"""A national installation (issue 20): the units' public keys and the upload of their signed totals files.

Administrators only, and only where INSTALLATION_LEVEL is "national" (elsewhere: 404). A refused file
is named with its reason in the reader's language and nothing is stored.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.forms_totals import TotalsUploadForm, UnitKeyForm
from app.extensions import db
from app.services.totals import (
    TotalsImportRefused,
    import_totals,
    is_national,
    national_imports,
    national_units,
    trust_unit_key,
    unit_key_fingerprints,
)
from app.web.guards import requires

MAX_FILE_BYTES = 64 * 1024 * 1024


def _national_only() -> None:
    if not is_national():
        abort(404)


def _page(key_form: UnitKeyForm, upload_form: TotalsUploadForm, error: str | None = None, status: int = 200):
    units = national_units()
    key_form.unit.choices = [(u.code, f"{u.code} — {u.name(g.lang)}") for u in units]
    return render_template("admin/totals.html", units=units, key_form=key_form, upload_form=upload_form,
                           imports=national_imports(), keys=unit_key_fingerprints(),
                           error=error), status


@bp.get("/totals")
@requires("national")
def totals():
    """The units with their keys, the upload form and the files received."""
    _national_only()
    return _page(UnitKeyForm(), TotalsUploadForm())


@bp.post("/totals/key")
@requires("national")
def totals_key():
    """Register (or change) a unit's public key."""
    _national_only()
    form = UnitKeyForm()
    form.unit.choices = [(u.code, u.code) for u in national_units()]
    if not form.validate_on_submit():
        return _page(form, TotalsUploadForm(), status=400)
    pem = form.key_file.data.read(64 * 1024) if form.key_file.data else (form.pem.data or "").encode("utf-8")
    try:
        trust_unit_key(form.unit.data, pem.strip(), current_user)
    except TotalsImportRefused as exc:
        db.session.rollback()
        return _page(form, TotalsUploadForm(), error=exc.problem.translated(), status=400)
    db.session.commit()
    flash(_("The public key of unit %(unit)s is registered.", unit=form.unit.data), "ok")
    return redirect(url_for("admin.totals"))


@bp.post("/totals/import")
@requires("national")
def totals_import():
    """Import one unit's signed totals file; all or nothing."""
    _national_only()
    form = TotalsUploadForm()
    if not form.validate_on_submit():
        return _page(UnitKeyForm(), form, status=400)
    data = form.file.data.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        return _page(UnitKeyForm(), form, error=_("The file is larger than 64 MB."), status=400)
    signature = form.signature.data.read(4096)
    name = form.file.data.filename or "totals.parquet"
    try:
        outcome = import_totals(data, signature, name, current_user)
    except TotalsImportRefused as exc:
        db.session.rollback()
        return _page(UnitKeyForm(), form, error=_("%(file)s was not imported: %(reason)s", file=name,
                                                   reason=exc.problem.translated()), status=400)
    db.session.commit()
    row = outcome.stored
    if outcome.replaced is not None:
        flash(_("Unit %(unit)s, %(start)s to %(end)s: imported, replacing the file received %(when)s.",
                unit=row.agency.code, start=row.period_from, end=row.period_to,
                when=outcome.replaced.received_at.strftime("%Y-%m-%d %H:%M")), "ok")
    else:
        flash(_("Unit %(unit)s, %(start)s to %(end)s: imported (%(n)s responses).", unit=row.agency.code,
                start=row.period_from, end=row.period_to, n=row.responses), "ok")
    return redirect(url_for("admin.totals"))
