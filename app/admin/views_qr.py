"""QR codes: images, printable posters, an agency's sheet, rotation and revocation."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from app.admin import bp
from app.admin.forms import ActionForm
from app.extensions import db
from app.models import Agency, ServicePoint
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


@bp.post("/counters/<id:counter_id>/rotate")
@requires("counters")
def counter_rotate(counter_id: int):
    """Issue a new QR token; old posters stop working."""
    counter = _counter(counter_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    rotate_token(counter, current_user)
    db.session.commit()
    flash(_("New QR code issued; print the new poster."), "ok")
    return redirect(url_for("admin.counter_edit", counter_id=counter.id))


@bp.post("/counters/<id:counter_id>/revoke")
@requires("counters")
def counter_revoke(counter_id: int):
    """Revoke the counter's QR token."""
    counter = _counter(counter_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    revoke_token(counter, current_user)
    db.session.commit()
    flash(_("QR code revoked."), "ok")
    return redirect(url_for("admin.counter_edit", counter_id=counter.id))
