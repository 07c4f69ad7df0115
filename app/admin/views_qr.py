"""QR codes: images, printable posters, an agency's sheet, rotation and revocation."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from app.admin import bp
from app.admin.forms import ActionForm
from app.extensions import db
from app.models import Agency, ServicePoint
from app.models.base import utcnow
from app.services.registry import (
    counter_url,
    list_counters,
    qr_png,
    qr_svg,
    revoke_token,
    rotate_token,
    short_address,
)
from app.web.guards import ensure_scope, requires


def _counter(counter_id: int) -> ServicePoint:
    counter = db.session.get(ServicePoint, counter_id) or abort(404)
    ensure_scope(counter.agency_id)
    return counter


def _poster(counter: ServicePoint) -> dict:
    url = counter_url(counter)
    # Our own generated SVG (no user text inside), safe to inline.
    svg = qr_svg(url).decode().split("?>", 1)[-1]
    return {"counter": counter, "url": url, "short": short_address(url), "svg": Markup(svg)}  # noqa: S704


@bp.get("/counters/<id:counter_id>/qr.<any(png, svg):fmt>")
@requires("counters")
def counter_qr(counter_id: int, fmt: str):
    """The counter's QR code as PNG or SVG."""
    counter = _counter(counter_id)
    if counter.qr_token_revoked:
        abort(404)
    url = counter_url(counter)
    body, mimetype = (qr_png(url), "image/png") if fmt == "png" else (qr_svg(url), "image/svg+xml")
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'inline; filename="qr-{counter.code}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/counters/<id:counter_id>/poster")
@requires("counters")
def counter_poster(counter_id: int):
    """A printable A4 poster for one counter."""
    counter = _counter(counter_id)
    if counter.qr_token_revoked:
        abort(404)
    return render_template("admin/posters.html", posters=[_poster(counter)], title=counter.code)


@bp.get("/agencies/<id:agency_id>/posters")
@requires("counters")
def agency_posters(agency_id: int):
    """Printable posters of every active counter of an agency, one per page."""
    agency = db.session.get(Agency, agency_id) or abort(404)
    ensure_scope(agency.id)
    counters = [c for c in list_counters(current_user, agency.id) if c.active and not c.qr_token_revoked]
    return render_template("admin/posters.html", posters=[_poster(c) for c in counters], title=agency.code)


def local_time(when: datetime) -> str:
    """An instant as the administrators read it: in TIMEZONE, to the minute."""
    return when.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y-%m-%d %H:%M")


def confirm_page(counter: ServicePoint, title: str, consequences: list[str], button: str, action: str,
                 fields: dict | None = None):
    """The page a destructive action asks for confirmation on: what will happen, then the button."""
    return render_template("admin/confirm.html", counter=counter, title=title, consequences=consequences,
                           button=button, action=action, fields=fields or {}, form=ActionForm(),
                           back=url_for("admin.counter_edit", counter_id=counter.id))


def _confirmed(form: ActionForm) -> bool:
    if not form.validate_on_submit():
        abort(400)
    return request.form.get("confirm") == "yes"


@bp.route("/counters/<id:counter_id>/rotate", methods=["GET", "POST"])
@requires("counters")
def counter_rotate(counter_id: int):
    """Issue a new QR token after a confirmation; the old address keeps working for the grace period."""
    counter = _counter(counter_id)
    days = current_app.config.get("QR_ROTATION_GRACE_DAYS", 14)
    if request.method == "POST" and _confirmed(ActionForm()):
        until = rotate_token(counter, current_user, days)
        db.session.commit()
        if until is None:
            flash(_("New QR code issued; print the new poster."), "ok")
        else:
            flash(_("New QR code issued. The old posters keep working until %(when)s: "
                    "replace them before then.", when=local_time(until)), "ok")
        return redirect(url_for("admin.counter_edit", counter_id=counter.id))
    if counter.qr_token_revoked or days <= 0:
        old = _("The current address does not work now and will not work again.")
    else:
        old = _("The current address (the posters up now) keeps working for %(days)d days, until %(when)s; "
                "after that it shows “not found”.", days=days,
                when=local_time(utcnow() + timedelta(days=days)))
    consequences = [_("A new QR code and address are issued for %(counter)s.", counter=counter.code), old,
                    _("Print the new poster and replace every old one at the counter.")]
    return confirm_page(counter, _("Rotate the QR code?"), consequences, _("Yes, issue a new QR code"),
                        url_for("admin.counter_rotate", counter_id=counter.id))


@bp.route("/counters/<id:counter_id>/revoke", methods=["GET", "POST"])
@requires("counters")
def counter_revoke(counter_id: int):
    """Revoke the counter's QR token, at once, after a confirmation."""
    counter = _counter(counter_id)
    if request.method == "POST" and _confirmed(ActionForm()):
        revoke_token(counter, current_user)
        db.session.commit()
        flash(_("QR code revoked."), "ok")
        return redirect(url_for("admin.counter_edit", counter_id=counter.id))
    consequences = [
        _("The QR address of %(counter)s stops working at once (also an old address still in its grace "
          "period): every poster of it shows “not found”.", counter=counter.code),
        _("Use this for a leaked or abused code. The counter takes answers again only after a rotation, "
          "with new posters."),
    ]
    return confirm_page(counter, _("Revoke the QR code?"), consequences, _("Yes, revoke it now"),
                        url_for("admin.counter_revoke", counter_id=counter.id))
