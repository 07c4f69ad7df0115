"""Agencies, services and counters: list, create, edit, deactivate, import from CSV."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.forms import ActionForm, AgencyForm, CounterForm, ServiceForm, UploadForm
from app.admin.uploads import run_import
from app.admin.views_qr import confirm_page, local_time
from app.extensions import db
from app.inputs import query_id
from app.models import Agency, Service, ServicePoint
from app.models.org import AGENCY_LEVELS
from app.services.exchange import problem_of, translated
from app.services.registry import agencies as org
from app.services.registry import agency_choices, counter_url, grace_until, kiosk_url
from app.web.guards import ensure_scope, requires
from app.web.labels import LEVEL_LABELS


def _saved(message: str, endpoint: str, **values):
    db.session.commit()
    flash(message, "ok")
    return redirect(url_for(endpoint, **values))


def _toggle(row, endpoint: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    org.set_active(row, request.form.get("active") == "1", current_user)
    return _saved(_("Saved."), endpoint)


def _import_page(title: str, endpoint: str, importer, columns: tuple[str, ...], back: str):
    form = UploadForm()
    if form.validate_on_submit():
        return run_import(form, importer, title, back, actor=current_user)
    return render_template("admin/import_form.html", form=form, title=title, columns=columns,
                           action=url_for(endpoint))


# ---------------------------------------------------------------- agencies


@bp.get("/agencies")
@requires("counters")
def agencies():
    """Agencies in the user's scope."""
    return render_template("admin/agencies.html", agencies=org.list_agencies(current_user), form=ActionForm(),
                           level_labels=LEVEL_LABELS)


@bp.route("/agencies/new", methods=["GET", "POST"], defaults={"agency_id": None})
@bp.route("/agencies/<id:agency_id>", methods=["GET", "POST"])
@requires("agencies")
def agency_edit(agency_id: int | None):
    """Create or edit an agency."""
    agency = (db.session.get(Agency, agency_id) or abort(404)) if agency_id else None
    form = AgencyForm(obj=agency)
    form.level.choices = [(code, LEVEL_LABELS[code]) for code in AGENCY_LEVELS]
    form.parent_id.choices = agency_choices(current_user, g.lang, blank="—")
    if request.method == "GET" and agency is not None:
        form.parent_id.data = agency.parent_id or 0
    if form.validate_on_submit():
        data = org.AgencyData(form.code.data.strip(), form.name_vi.data.strip(), form.name_en.data.strip(),
                              form.level.data, form.parent_id.data or None, form.active.data)
        try:
            org.save_agency(agency, data, current_user)
        except org.AdminError as exc:
            db.session.rollback()
            form.code.errors.append(translated(problem_of(exc)))
        else:
            return _saved(_("Agency saved."), "admin.agencies")
    return render_template("admin/agency_form.html", form=form, agency=agency)


@bp.post("/agencies/<id:agency_id>/active")
@requires("agencies")
def agency_active(agency_id: int):
    """Deactivate or reactivate an agency."""
    return _toggle(db.session.get(Agency, agency_id) or abort(404), "admin.agencies")


@bp.route("/agencies/import", methods=["GET", "POST"])
@requires("agencies")
def agencies_import():
    """Create or update agencies from CSV, all or nothing."""
    return _import_page(_("Import agencies"), "admin.agencies_import", org.import_agencies,
                        org.AGENCY_COLUMNS, url_for("admin.agencies"))


# ---------------------------------------------------------------- services


@bp.get("/services")
@requires("services")
def services():
    """Every service."""
    return render_template("admin/services.html", services=org.list_services(), form=ActionForm())


@bp.route("/services/new", methods=["GET", "POST"], defaults={"service_id": None})
@bp.route("/services/<id:service_id>", methods=["GET", "POST"])
@requires("services")
def service_edit(service_id: int | None):
    """Create or edit a service."""
    service = (db.session.get(Service, service_id) or abort(404)) if service_id else None
    form = ServiceForm(obj=service)
    if form.validate_on_submit():
        try:
            org.save_service(service, form.code.data.strip(), form.name_vi.data.strip(),
                             form.name_en.data.strip(), current_user)
        except org.AdminError as exc:
            db.session.rollback()
            form.code.errors.append(translated(problem_of(exc)))
        else:
            return _saved(_("Service saved."), "admin.services")
    return render_template("admin/service_form.html", form=form, service=service)


@bp.post("/services/<id:service_id>/active")
@requires("services")
def service_active(service_id: int):
    """Deactivate or reactivate a service."""
    return _toggle(db.session.get(Service, service_id) or abort(404), "admin.services")


@bp.route("/services/import", methods=["GET", "POST"])
@requires("services")
def services_import():
    """Create or update services from CSV, all or nothing."""
    return _import_page(_("Import services"), "admin.services_import", org.import_services,
                        org.SERVICE_COLUMNS, url_for("admin.services"))


# ---------------------------------------------------------------- counters


@bp.get("/counters")
@requires("counters")
def counters():
    """Counters in the user's scope, optionally of one agency."""
    agency_id = query_id("agency")
    if agency_id is not None:
        ensure_scope(agency_id)
    return render_template("admin/counters.html", counters=org.list_counters(current_user, agency_id),
                           form=ActionForm(), agency_id=agency_id)


def _counter_form(counter: ServicePoint | None) -> CounterForm:
    form = CounterForm(obj=counter)
    form.agency_id.choices = agency_choices(current_user, g.lang)
    form.questionnaire_id.choices = [(0, "—"), *org.questionnaire_choices()]
    form.service_ids.choices = [(s.id, f"{s.code} · {s.name(g.lang)}") for s in org.list_services()]
    if request.method == "GET":
        form.questionnaire_id.data = (counter.questionnaire_id if counter else None) or 0
        form.service_ids.data = [s.id for s in counter.services] if counter else []
        if counter is None and query_id("agency"):
            form.agency_id.data = query_id("agency")
    return form


@bp.route("/counters/new", methods=["GET", "POST"], defaults={"counter_id": None})
@bp.route("/counters/<id:counter_id>", methods=["GET", "POST"])
@requires("counters")
def counter_edit(counter_id: int | None):
    """Create or edit a counter inside the user's agencies."""
    counter = (db.session.get(ServicePoint, counter_id) or abort(404)) if counter_id else None
    if counter is not None:
        ensure_scope(counter.agency_id)
    form = _counter_form(counter)
    if form.validate_on_submit():
        ensure_scope(form.agency_id.data)
        # Unticking "active" saves the rest and asks on the deactivation's own page, like the list's button.
        deactivating = counter is not None and counter.active and not form.active.data
        data = org.CounterData(form.code.data.strip(), form.agency_id.data, form.name_vi.data.strip(),
                               form.name_en.data.strip(), form.questionnaire_id.data or None,
                               form.service_ids.data or [], form.active.data or deactivating)
        try:
            saved = org.save_counter(counter, data, current_user)
        except org.AdminError as exc:
            db.session.rollback()
            form.code.errors.append(translated(problem_of(exc)))
        else:
            if deactivating:
                return redirect(url_for("admin.counter_active", counter_id=saved.id, active="0"))
            return _saved(_("Counter saved."), "admin.counter_edit", counter_id=saved.id)
    public_url = counter_url(counter) if counter else None
    grace = grace_until(counter) if counter else None
    return render_template("admin/counter_form.html", form=form, counter=counter, action_form=ActionForm(),
                           counter_public_url=public_url,
                           counter_kiosk_url=kiosk_url(counter) if counter else None,
                           old_address_until=local_time(grace) if grace else None)


@bp.route("/counters/<id:counter_id>/active", methods=["GET", "POST"])
@requires("counters")
def counter_active(counter_id: int):
    """Reactivate a counter, or deactivate it after a confirmation on a page of its own."""
    counter = db.session.get(ServicePoint, counter_id) or abort(404)
    ensure_scope(counter.agency_id)
    deactivating = request.values.get("active") != "1"
    if request.method == "POST" and (not deactivating or request.form.get("confirm") == "yes"):
        return _toggle(counter, "admin.counters")
    if request.method == "POST" and not ActionForm().validate_on_submit():
        abort(400)
    if not deactivating or not counter.active:
        return redirect(url_for("admin.counters"))
    consequences = [
        _("%(counter)s stops taking answers at once: its QR address and kiosk show “not found”.",
          counter=counter.code),
        _("Its answers so far stay in the reports. You can reactivate it later from the list of counters."),
    ]
    return confirm_page(counter, _("Deactivate this counter?"), consequences, _("Yes, deactivate it"),
                        url_for("admin.counter_active", counter_id=counter.id), {"active": "0"})


@bp.route("/counters/import", methods=["GET", "POST"])
@requires("counters")
def counters_import():
    """Create or update counters from CSV, all or nothing, inside the user's agencies."""
    return _import_page(_("Import counters"), "admin.counters_import", org.import_counters,
                        org.COUNTER_COLUMNS, url_for("admin.counters"))
