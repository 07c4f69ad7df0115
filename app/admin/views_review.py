"""Review of responses (issue 17): a filtered, paged list; one response in words; void with a
reason, restore (administrators), confirm a flagged one. Scoped to the user's agencies."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.admin import bp
from app.admin.forms import ActionForm
from app.extensions import db
from app.models import CHANNELS, AuditEvent, Response, User
from app.models.auth import ADMINISTRATOR
from app.services.exchange import problem_of, review, translated
from app.services.registry import agency_choices, list_counters
from app.web.guards import ensure_scope, requires
from app.web.labels import CHANNEL_LABELS, SUSPICION_LABELS


def _int(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _choice(name: str, allowed: tuple[str, ...], default: str = "") -> str:
    value = request.args.get(name, default)
    return value if value in allowed else default


def _filter() -> review.ReviewFilter:
    agency_id = _int("agency")
    if agency_id:
        ensure_scope(agency_id)
    return review.ReviewFilter(
        agency_id=agency_id, counter_id=_int("counter"), start=_day("from"), end=_day("to"),
        channel=_choice("channel", CHANNELS), flagged=_choice("flagged", ("yes", "no")),
        verified=_choice("verified", ("yes", "no")), voided=_choice("voided", ("no", "yes", "all"), "no"),
        text=request.args.get("q", "")[:review.MAX_SEARCH])


@bp.get("/responses/list")
@requires("responses")
def responses_list():
    """Responses in the user's agencies, filtered and paged, newest first."""
    spec = _filter()
    page = review.list_responses(current_user, spec, _int("page") or 1,
                                 ZoneInfo(current_app.config["TIMEZONE"]))
    counters = list_counters(current_user)
    args = {k: v for k, v in request.args.items() if k not in ("page", "lang") and v}
    return render_template("admin/responses_list.html", page=page, spec=spec, args=args,
                           agencies=agency_choices(current_user, g.lang, blank=_("All")),
                           counters=counters, channels=CHANNEL_LABELS, zone=current_app.config["TIMEZONE"])


def _response(response_id: int) -> Response:
    response = db.session.get(Response, response_id) or abort(404)
    ensure_scope(response.agency_id)
    return response


@bp.get("/responses/<id:response_id>")
@requires("responses")
def response_detail(response_id: int):
    """One response: where and when, its flags, every answer in words, its review history."""
    response = _response(response_id)
    history = db.session.scalars(
        select(AuditEvent).where(AuditEvent.target == response.uid, AuditEvent.action.like("response.%"))
        .order_by(AuditEvent.id)).all()
    voided_by = db.session.get(User, response.voided_by) if response.voided_by else None
    return render_template("admin/response_detail.html", response=response,
                           answers=review.answers_in_words(response, g.lang), history=history,
                           form=ActionForm(), channels=CHANNEL_LABELS, voided_by=voided_by,
                           suspicion=SUSPICION_LABELS,
                           may_restore=current_user.role == ADMINISTRATOR,
                           back=request.args.get("back", ""))


def _review_step(response_id: int, step, done: str):
    response = _response(response_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        step(response)
    except review.ReviewError as exc:
        db.session.rollback()
        flash(translated(problem_of(exc)), "error")
        return redirect(url_for("admin.response_detail", response_id=response_id)), 303
    db.session.commit()
    flash(done, "ok")
    return redirect(url_for("admin.response_detail", response_id=response_id)), 303


@bp.post("/responses/<id:response_id>/void")
@requires("responses")
def response_void(response_id: int):
    """Void with a reason: out of reports, report cells and exports from now on."""
    reason = request.form.get("reason", "")
    return _review_step(response_id, lambda r: review.void_response(r, current_user, reason),
                        _("The response is voided: it no longer counts in reports or exports."))


@bp.post("/responses/<id:response_id>/restore")
@requires("responses")
def response_restore(response_id: int):
    """Undo a void (administrators only)."""
    return _review_step(response_id, lambda r: review.restore_response(r, current_user),
                        _("The response is restored: it counts again."))


@bp.post("/responses/<id:response_id>/confirm")
@requires("responses")
def response_confirm(response_id: int):
    """Confirm a flagged response: it counts like any other."""
    return _review_step(response_id, lambda r: review.confirm_response(r, current_user),
                        _("The response is confirmed: it is no longer flagged as suspicious."))

