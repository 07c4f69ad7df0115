"""Auth views: thin wrappers over app.services.accounts.users."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth.forms import LoginForm, LogoutForm, PasswordForm
from app.extensions import db, limiter
from app.services.accounts import AccountError, authenticate, change_password, record_event
from app.web.guards import safe_next


def _per_address_limit() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT", "10 per minute")


def _per_account_limit() -> str:
    return current_app.config.get("LOGIN_ACCOUNT_RATE_LIMIT", "5 per 5 minutes")


def _login_email() -> str:
    return "login:" + request.form.get("email", "").strip().lower()


def _failed(response) -> bool:
    # Only failed attempts count: a successful login redirects.
    return response.status_code != 302


def _home_for(user) -> str:
    return url_for("reports.index") if user.role == "leader" else url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_per_address_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(_per_account_limit, methods=["POST"], key_func=_login_email, deduct_when=_failed)
def login():
    """Log in with e-mail and password."""
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            record_event(user, "user.login", user.email)
            db.session.commit()
            return redirect(safe_next(form.next.data, _home_for(user)))
        # Failed attempts are logged too (throttling bounds how many a client can add).
        record_event(None, "user.login_failed", form.email.data.strip().lower(), anonymous=True)
        db.session.commit()
        flash(_("Wrong e-mail or password."), "error")
        return render_template("auth/login.html", form=form), 200
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    """End the session."""
    form = LogoutForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's own password."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current.data, form.new.data)
        except AccountError as exc:
            db.session.rollback()
            form.new.errors.append(str(exc))
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # new stamp in the session id
            flash(_("Your password was changed."), "ok")
            return redirect(_home_for(current_user))
    return render_template("auth/password.html", form=form)
