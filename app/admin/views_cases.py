"""The handlers' inbox of cases (issue 18): filter, assign (one or many), start, answer, close, notes,
the citizen's contact details (audited), a case from a response, and an agency's webhook setting."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.forms import ActionForm
from app.admin.views_qr import local_time
from app.extensions import db
from app.inputs import form_id, id_number, query_id
from app.models import Agency, OutboxMessage, User
from app.models.base import utcnow
from app.services.cases import (
    CASE_STATUSES,
    CaseError,
    CaseFilter,
    add_note,
    agency_webhook,
    answer_case,
    assign_case,
    bulk_assign,
    case_for_handler,
    close_case,
    handler_choices,
    list_cases,
    open_from_response,
    save_webhook,
    start_case,
    view_contact,
)
from app.services.registry import agency_choices, may
from app.web.guards import ensure_scope, requires


def status_names() -> dict[str, str]:
    """The statuses in the user's language."""
    return {"new": _("New"), "assigned": _("Assigned"), "in_progress": _("In progress"),
            "answered": _("Answered"), "closed": _("Closed"), "reopened": _("Reopened")}


def _problem(reason: str) -> str:
    return {
        "closed": _("This case is closed."),
        "assignee": _("This person cannot handle cases of this agency."),
        "status": _("This cannot be done in the case's present status."),
        "empty": _("Please write something first."),
        "too_long": _("This text is too long."),
        "forbidden": _("Only the officers of the case's agency may see the citizen's contact details."),
    }.get(reason, _("This cannot be done."))


def _checked() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.get("/cases")
@requires("cases")
def cases():
    """The inbox: the cases of the user's agencies, soonest due first."""
    status = request.args.get("status", "")
    filters = CaseFilter(status=status if status in CASE_STATUSES else None,
                         overdue=request.args.get("overdue") == "1", agency_id=query_id("agency") or None,
                         counter_id=query_id("counter") or None, mine=request.args.get("mine") == "1")
    rows, total = list_cases(current_user, filters)
    return render_template("admin/cases.html", cases=rows, total=total, filters=filters,
                           statuses=status_names(), agencies=agency_choices(current_user, g.lang, blank="—"),
                           handlers=handler_choices(None, current_user), form=ActionForm(),
                           local_time=local_time, now_utc=utcnow())


@bp.post("/cases/assign")
@requires("cases")
def cases_bulk_assign():
    """Assign the ticked cases to one handler."""
    _checked()
    assignee = db.session.get(User, form_id("assignee") or 0)
    ids = [n for n in map(id_number, request.form.getlist("case")) if n is not None]
    if assignee is None or not ids:
        flash(_("Tick at least one case and choose who handles them."), "error")
        return redirect(url_for("admin.cases"))
    done = bulk_assign(current_user, ids, assignee)
    db.session.commit()
    flash(_("%(n)s case(s) assigned to %(who)s.", n=done, who=assignee.email), "ok")
    return redirect(url_for("admin.cases"))


def _case_or_404(case_id: int):
    case = case_for_handler(current_user, case_id)
    if case is None:
        abort(404)
    return case


def _detail(case, problem: str | None = None, status: int = 200):
    outbox = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.case_id == case.id)
                                .order_by(OutboxMessage.id)).all()
    page = render_template("admin/case_detail.html", case=case, statuses=status_names(), problem=problem,
                           handlers=handler_choices(case.agency_id, current_user), form=ActionForm(),
                           may_contact=may(current_user, "case_contact"), outbox=outbox,
                           local_time=local_time)
    return page, status


@bp.get("/cases/<id:case_id>")
@requires("cases")
def case_detail(case_id: int):
    """One case: what the citizen said, its history, the handler's actions."""
    return _detail(_case_or_404(case_id))


@bp.post("/cases/<id:case_id>/<action>")
@requires("cases")
def case_action(case_id: int, action: str):
    """assign, start, answer, note or close."""
    _checked()
    case = _case_or_404(case_id)
    try:
        if action == "assign":
            assignee = db.session.get(User, form_id("assignee") or 0)
            if assignee is None:
                raise CaseError("assignee")
            assign_case(case, assignee, current_user)
        elif action == "start":
            start_case(case, current_user)
        elif action == "answer":
            answer_case(case, request.form.get("answer", ""), current_user)
        elif action == "note":
            add_note(case, request.form.get("note", ""), current_user)
        elif action == "close":
            close_case(case, current_user)
        else:
            abort(404)
    except CaseError as exc:
        db.session.rollback()
        return _detail(_case_or_404(case_id), _problem(exc.reason), 422)
    db.session.commit()
    flash(_("Saved."), "ok")
    return redirect(url_for("admin.case_detail", case_id=case.id))


@bp.get("/cases/<id:case_id>/contact")
@requires("case_contact")
def case_contact(case_id: int):
    """The citizen's phone or e-mail; the look is written to the audit log."""
    case = _case_or_404(case_id)
    try:
        contact = view_contact(case, current_user)
    except CaseError:
        abort(403)
    db.session.commit()
    page = render_template("admin/case_contact.html", case=case, contact=contact)
    return page, 200, {"Cache-Control": "no-store"}


@bp.post("/cases/open")
@requires("cases")
def case_open():
    """Turn a response (its comment) into a case of the response's agency."""
    _checked()
    try:
        case = open_from_response(request.form.get("response", "").strip()[:64], current_user)
    except ValueError as exc:
        db.session.rollback()
        flash(_("No case was opened: %(why)s.", why=str(exc)), "error")
        return redirect(request.referrer if request.referrer and request.referrer.startswith(
            request.host_url) else url_for("admin.cases"))
    db.session.commit()
    flash(_("Case %(code)s opened.", code=case.code), "ok")
    return redirect(url_for("admin.case_detail", case_id=case.id))


@bp.route("/agencies/<id:agency_id>/webhook", methods=["GET", "POST"])
@requires("agencies")
def agency_webhook_edit(agency_id: int):
    """Where the agency's case events go (the province's one-stop system), and the signing secret."""
    agency = db.session.get(Agency, agency_id) or abort(404)
    ensure_scope(agency.id)
    hook = agency_webhook(agency.id)
    error = None
    if request.method == "POST":
        _checked()
        try:
            save_webhook(agency.id, request.form.get("url", ""), request.form.get("secret", ""), current_user)
        except ValueError as exc:
            db.session.rollback()
            error = (_("The address must start with https:// or http://.") if str(exc) == "url"
                     else _("The secret must have at least 16 characters."))
        else:
            db.session.commit()
            flash(_("Saved."), "ok")
            return redirect(url_for("admin.agency_edit", agency_id=agency.id))
    status = 422 if error else 200
    return render_template("admin/agency_webhook.html", agency=agency, hook=hook, error=error,
                           form=ActionForm()), status
