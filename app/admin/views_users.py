"""Accounts and the audit log (administrators only)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp
from app.admin.forms import ActionForm, UserCreateForm, UserEditForm
from app.admin.views_home import ROLE_NAMES
from app.extensions import db
from app.inputs import query_page
from app.models import Agency, User
from app.services.accounts import (
    AccountError,
    PasswordError,
    create_user,
    event_actions,
    issue_api_token,
    list_events,
    list_users,
    locked_pairs,
    unlock,
    update_user,
)
from app.services.registry import agency_choices
from app.web.guards import requires


def _fill_choices(form) -> None:
    form.role.choices = [(role, str(label)) for role, label in ROLE_NAMES.items()]
    form.agency_id.choices = agency_choices(current_user, g.lang, blank="—")


@bp.get("/users")
@requires("users")
def users():
    """Every account."""
    return render_template("admin/users.html", users=list_users(), form=ActionForm())


@bp.route("/users/new", methods=["GET", "POST"])
@requires("users")
def user_new():
    """Create an account."""
    form = UserCreateForm()
    _fill_choices(form)
    if form.validate_on_submit():
        agency = db.session.get(Agency, form.agency_id.data) if form.agency_id.data else None
        try:
            create_user(form.email.data, form.password.data, form.role.data, agency,
                        form.name.data or "", actor=current_user)
        except AccountError as exc:
            db.session.rollback()
            field = form.password if isinstance(exc, PasswordError) else form.email
            field.errors.append(_(str(exc)))
        else:
            db.session.commit()
            flash(_("Account created."), "ok")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<id:user_id>", methods=["GET", "POST"])
@requires("users")
def user_edit(user_id: int):
    """Change an account's role, agency or state."""
    user = db.session.get(User, user_id) or abort(404)
    form = UserEditForm(obj=user)
    _fill_choices(form)
    if request.method == "GET":
        form.agency_id.data = user.agency_id or 0
    if form.validate_on_submit():
        agency = db.session.get(Agency, form.agency_id.data) if form.agency_id.data else None
        try:
            update_user(user, form.role.data, agency, form.active.data, form.name.data or "", current_user)
        except AccountError as exc:
            db.session.rollback()
            form.role.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Account saved."), "ok")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user, locked=locked_pairs(user),
                           action_form=ActionForm())


@bp.post("/users/<id:user_id>/unlock")
@requires("users")
def user_unlock(user_id: int):
    """Forget the account's failed logins from every address (audited)."""
    user = db.session.get(User, user_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    unlock(user, current_user)
    db.session.commit()
    flash(_("The account can log in again from every address."), "ok")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<id:user_id>/api-token")
@requires("users")
def user_api_token(user_id: int):
    """Issue a new API token for an account and show it once."""
    user = db.session.get(User, user_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    token = issue_api_token(user, current_user)
    db.session.commit()
    return render_template("admin/api_token.html", user=user, token=token)


@bp.get("/audit")
@requires("audit")
def audit():
    """The audit log, newest first."""
    page = query_page()
    action = request.args.get("action") or None
    events, total = list_events(page, action)
    return render_template("admin/audit.html", events=events, total=total, page=page,
                           action=action, actions=event_actions())
