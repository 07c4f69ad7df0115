"""Accounts: creation, authentication, passwords, roles and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Agency, User
from app.models.auth import ROLES, SCOPED_ROLES
from app.models.base import utcnow
from app.services.accounts.audit import record_event

MIN_PASSWORD_LENGTH = 10
# Checked when the e-mail is unknown, so a wrong e-mail costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """An account change was refused; the message says why."""


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is too weak, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"at least {MIN_PASSWORD_LENGTH} characters are needed"
    if email and password.lower() == email.lower():
        return "the password must differ from the e-mail address"
    if len(set(password)) < 4:
        return "the password repeats too few characters"
    return None


def normalise_email(email: str) -> str:
    """E-mails compare without case or surrounding space."""
    return email.strip().lower()


def find_user(email: str) -> User | None:
    """The account with this e-mail, if any."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def _check_role(role: str, agency: Agency | None) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}")
    if role in SCOPED_ROLES and agency is None:
        raise AccountError("an agency manager or leader needs an agency")


def create_user(
    email: str, password: str, role: str, agency: Agency | None = None, name: str = "",
    actor: User | None = None,
) -> User:
    """Create an account (caller commits); raises AccountError with the reason."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError("a valid e-mail address is needed")
    if find_user(email) is not None:
        raise AccountError(f"an account for {email} already exists")
    problem = password_problem(password, email)
    if problem:
        raise AccountError(problem)
    _check_role(role, agency)
    user = User(
        email=email, name=name.strip(), role=role, password_hash=generate_password_hash(password),
        agency_id=agency.id if agency and role in SCOPED_ROLES else None, active=True,
    )
    db.session.add(user)
    db.session.flush()
    record_event(actor, "user.create", email, role=role, agency=agency.code if agency else None)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active account matching these credentials, or None (same cost either way)."""
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Replace the user's password after checking the current one (caller commits)."""
    if not check_password_hash(user.password_hash, current):
        raise AccountError("the current password is wrong")
    problem = password_problem(new, user.email)
    if problem:
        raise AccountError(problem)
    user.password_hash = generate_password_hash(new)
    record_event(user, "user.password", user.email)


def reset_password(email: str, new: str, actor: User | None = None) -> User:
    """Set a new password without the old one (command line, by an operator); caller commits."""
    user = find_user(email)
    if user is None:
        raise AccountError(f"no account for {normalise_email(email)}")
    problem = password_problem(new, user.email)
    if problem:
        raise AccountError(problem)
    user.password_hash = generate_password_hash(new)
    record_event(actor, "user.password_reset", user.email)
    return user


def update_user(user: User, role: str, agency: Agency | None, active: bool, name: str, actor: User) -> None:
    """Change an account's role, agency, name or state, logging role changes (caller commits)."""
    _check_role(role, agency)
    agency_id = agency.id if agency and role in SCOPED_ROLES else None
    if user.id == actor.id and (role != user.role or not active):
        raise AccountError("you cannot change your own role or deactivate yourself")
    if (role, agency_id) != (user.role, user.agency_id):
        record_event(actor, "user.role", user.email, old=user.role, new=role,
                     agency=agency.code if agency_id else None)
    if active != user.active:
        record_event(actor, "user.activate" if active else "user.deactivate", user.email)
    user.role, user.agency_id, user.active, user.name = role, agency_id, active, name.strip()


def list_users() -> list[User]:
    """Every account, by e-mail."""
    return list(db.session.scalars(select(User).order_by(User.email)))


def count_administrators() -> int:
    """How many active administrators exist."""
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.role == "administrator", User.active.is_(True))
    ) or 0


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(user: User, actor: User) -> str:
    """Give the user a new API token (replacing any old one); it is returned once, never stored."""
    token = secrets.token_urlsafe(32)
    user.api_token_hash = _token_digest(token)
    record_event(actor, "user.api_token", user.email)
    return token


def user_for_api_token(token: str) -> User | None:
    """The active account owning an API token, or None."""
    if not token:
        return None
    digest = _token_digest(token)
    user = db.session.scalar(select(User).where(User.api_token_hash == digest))
    if user is None or not user.active or not hmac.compare_digest(user.api_token_hash, digest):
        return None
    return user


def load_session_user(session_id: str) -> User | None:
    """The user behind a Flask-Login session id `id:stamp`; a changed password ends it."""
    user_id, _, stamp = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or not hmac.compare_digest(user.password_hash[-16:], stamp):
        return None
    return user
