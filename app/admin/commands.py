"""`flask users`: create the first administrator from the command line; `flask audit purge`."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from app.extensions import db
from app.models.auth import ADMINISTRATOR
from app.services.accounts import (
    AccountError,
    create_user,
    purge_expiring_events,
    purge_throttles,
    reset_password,
)
from app.services.collect import purge_salts


@click.group("users")
def users_cli():
    """Staff accounts."""


@users_cli.command("create-admin")
@click.option("--email", prompt=True, help="E-mail address (the login name).")
@click.option("--name", default="", help="Display name.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="ADMIN_PASSWORD", help="Password (prompted when omitted; or ADMIN_PASSWORD).")
@with_appcontext
def create_admin(email, name, password):
    """Create an administrator account."""
    try:
        user = create_user(email, password, ADMINISTRATOR, name=name)
    except AccountError as exc:
        db.session.rollback()
        click.echo(f"users: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"users: administrator {user.email} created")


@users_cli.command("set-password")
@click.option("--email", prompt=True, help="E-mail address of the account.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="NEW_PASSWORD", help="New password (prompted when omitted; or NEW_PASSWORD).")
@with_appcontext
def set_password(email, password):
    """Reset an account's password (e.g. a locked-out administrator); ends its sessions."""
    try:
        user = reset_password(email, password)
    except AccountError as exc:
        db.session.rollback()
        click.echo(f"users: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"users: password of {user.email} changed")


@click.group("audit")
def audit_cli():
    """The audit log and other records that expire."""


@audit_cli.command("purge")
@click.option("--days", type=click.IntRange(0, 3650), default=None,
              help="Keep failed-login events this many days (default AUDIT_FAILED_LOGIN_DAYS, 30).")
@with_appcontext
def purge(days):
    """Delete failed-login events older than AUDIT_FAILED_LOGIN_DAYS, stale failed-login counts and
    client-hash salts older than yesterday. Run daily (docs/DEPLOY.md: sipas-purge.timer)."""
    from flask import current_app

    days = current_app.config.get("AUDIT_FAILED_LOGIN_DAYS", 30) if days is None else days
    events, pairs, salts = purge_expiring_events(days), purge_throttles(), purge_salts()
    db.session.commit()
    click.echo(f"audit: deleted {events} failed-login event(s) older than {days} days, "
               f"{pairs} stale failed-login count(s), {salts} old client-hash salt(s)")
