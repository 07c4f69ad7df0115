"""Auth views: thin wrappers over app.services.accounts.users."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth.forms import LoginForm, LogoutForm, PasswordForm
from app.extensions import db, limiter
from app.services.accounts import (
    AccountError,
    authenticate,
    change_password,
    clear_pair,
    end_sessions,
    record_event,
    record_failure,
    refusal,
)
from app.web.guards import safe_next


def _per_address_limit() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT", "10 per minute")


def _failed(response) -> bool:
    # Only failed attempts count: a successful login redirects.
    return response.status_code != 302


def _home_for(user) -> str:
    return url_for("reports.index") if user.role == "leader" else url_for("admin.index")


def _refused(wait) -> tuple[str, int]:
    message = _("Too many wrong passwords for this account from your address. "
                "Try again in %(minutes)d min, or ask an administrator to unlock the account.",
                minutes=wait.minutes())
    flash(message, "error")
    form = LoginForm(formdata=None, next=request.form.get("next", ""))
    return render_template("auth/login.html", form=form), 429


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_per_address_limit, methods=["POST"], deduct_when=_failed)
def login():
    """Log in with e-mail and password; failures slow down that account from that address only."""
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    email, address = form.email.data, request.remote_addr
    wait = refusal(email, address)
    if wait is not None:
        return _refused(wait)
    user = authenticate(email, form.password.data)
    if user is not None:
        clear_pair(email, address)
        login_user(user)
        record_event(user, "user.login", user.email)
        db.session.commit()
        return redirect(safe_next(form.next.data, _home_for(user)))
    # Failed attempts are logged too (throttling bounds how many a client can add); the e-mail in
    # them is deleted after AUDIT_FAILED_LOGIN_DAYS (`flask audit purge`).
    record_event(None, "user.login_failed", email.strip().lower(), anonymous=True)
    wait = record_failure(email, address)
    db.session.commit()
    if wait is not None:
        return _refused(wait)
    flash(_("Wrong e-mail or password."), "error")
    return render_template("auth/login.html", form=form), 200


@bp.post("/logout")
def logout():
    """End the session."""
    form = LogoutForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        # Raise the account's session version: a copy of this cookie stops working too.
        end_sessions(current_user._get_current_object())
        db.session.commit()
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
            form.new.errors.append(_(str(exc)))
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # new stamp in the session id
            flash(_("Your password was changed."), "ok")
            return redirect(_home_for(current_user))
    return render_template("auth/password.html", form=form)
