"""Accounts: creation, authentication, passwords, roles and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from app.extensions import db
from app.inputs import id_number
from app.models import Agency, User
from app.models.auth import ROLES, SCOPED_ROLES
from app.models.base import utcnow
from app.services.accounts.audit import record_event

MIN_PASSWORD_LENGTH = 12
# zxcvbn's score (0-4, an estimate of the guesses needed): 3 is "safely unguessable" against an
# online attack and, with the slow hash, against an offline one too.
MIN_PASSWORD_SCORE = 3
# zxcvbn's cost grows with the length; the first characters decide the score anyway.
_SCORED_CHARACTERS = 100
# Checked when the e-mail is unknown, so a wrong e-mail costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")

# The reasons, as English message ids the views translate (app/translations).
TOO_SHORT = "the password needs at least 12 characters"
SAME_AS_EMAIL = "the password must differ from the e-mail address"
TOO_COMMON = ("this password is too easy to guess: it is a common password or a simple pattern "
              "(repeats, sequences, keyboard rows, dates); use a few uncommon words")


class AccountError(ValueError):
    """An account change was refused; the message says why."""


class PasswordError(AccountError):
    """A new password was refused (too short, the e-mail, or too easy to guess)."""


def _is_common(result: dict) -> bool:
    # The whole password is one entry of zxcvbn's list of common passwords (also l33t or reversed).
    sequence = result["sequence"]
    return len(sequence) == 1 and sequence[0].get("dictionary_name") == "passwords"


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is too weak (a message id of the list above), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return TOO_SHORT
    if email and password.strip().lower() == email.strip().lower():
        return SAME_AS_EMAIL
    hints = [email, email.partition("@")[0]] if email else []
    result = zxcvbn(password[:_SCORED_CHARACTERS], user_inputs=hints)
    if result["score"] < MIN_PASSWORD_SCORE or _is_common(result):
        return TOO_COMMON
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
        raise PasswordError(problem)
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
        raise PasswordError(problem)
    user.password_hash = generate_password_hash(new)
    end_sessions(user)
    record_event(user, "user.password", user.email)


def reset_password(email: str, new: str, actor: User | None = None) -> User:
    """Set a new password without the old one (command line, by an operator); caller commits."""
    user = find_user(email)
    if user is None:
        raise AccountError(f"no account for {normalise_email(email)}")
    problem = password_problem(new, user.email)
    if problem:
        raise PasswordError(problem)
    user.password_hash = generate_password_hash(new)
    end_sessions(user)
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
        if not active:
            end_sessions(user)
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


def end_sessions(user: User) -> None:
    """End every session of the account, copied cookies included (caller commits)."""
    user.session_version = (user.session_version or 0) + 1


def load_session_user(session_id: str) -> User | None:
    """The user behind a Flask-Login session id `id:version:stamp`; None once the session has ended
    (logout, password change or deactivation raised the version) or the password changed."""
    parts = session_id.split(":")
    user_id = id_number(parts[0]) if len(parts) == 3 else None
    if user_id is None:  # not an id any row can have (a forged or foreign cookie)
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    current = f"{user.session_version or 0}:{user.password_hash[-16:]}"
    if not hmac.compare_digest(current.encode(), f"{parts[1]}:{parts[2]}".encode()):
        return None
    return user
