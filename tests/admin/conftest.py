"""Admin fixtures: a small agency tree, one account per role, and login helpers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import g
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Agency, ServicePoint, User

PASSWORD = "correct horse battery"
# A cheap hash keeps the suite fast; the login route checks any werkzeug hash.
_CHEAP_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def make_agency(code: str, level: str, parent: Agency | None = None) -> Agency:
    """Add an agency."""
    agency = Agency(code=code, name_vi=f"Cơ quan {code}", name_en=f"Agency {code}", level=level,
                    parent_id=parent.id if parent else None)
    db.session.add(agency)
    db.session.flush()
    return agency


def make_counter(code: str, agency: Agency) -> ServicePoint:
    """Add a counter."""
    counter = ServicePoint(code=code, agency_id=agency.id, name_vi=f"Quầy {code}", name_en=f"Counter {code}")
    db.session.add(counter)
    db.session.flush()
    return counter


def make_user(email: str, role: str, agency: Agency | None = None) -> User:
    """Add an account whose password is PASSWORD."""
    user = User(email=email, role=role, password_hash=_CHEAP_HASH, agency_id=agency.id if agency else None,
                active=True, name="")
    db.session.add(user)
    db.session.flush()
    return user


@pytest.fixture(autouse=True)
def _fresh_login_per_request(app):
    # The shared `app` fixture keeps one app context open, so `g` (where Flask-Login
    # caches the user) would outlive a request; in production each request has its own.
    @app.before_request
    def _forget_cached_user():
        g.pop("_login_user", None)


@dataclass
class Tree:
    """Province P with department D1 and district H1 (commune X1 below it); a counter in D1 and X1."""

    province: Agency
    department: Agency
    district: Agency
    commune: Agency
    counter_in: ServicePoint   # inside the district manager's scope
    counter_out: ServicePoint  # outside it
    users: dict[str, User]


@pytest.fixture
def tree(app) -> Tree:
    """The agency tree and one account per role (manager and leader scoped to the district)."""
    province = make_agency("P", "province")
    department = make_agency("D1", "department", province)
    district = make_agency("H1", "district", province)
    commune = make_agency("X1", "commune", district)
    counter_in = make_counter("X1-Q1", commune)
    counter_out = make_counter("D1-Q1", department)
    users = {
        "administrator": make_user("admin@example.org", "administrator"),
        "designer": make_user("designer@example.org", "designer"),
        "manager": make_user("manager@example.org", "manager", district),
        "leader": make_user("leader@example.org", "leader", district),
    }
    db.session.commit()
    return Tree(province, department, district, commune, counter_in, counter_out, users)


def login_as(client, user: User) -> None:
    """Put the user in the client's session without the cost of a password check."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


@pytest.fixture
def as_role(client, tree):
    """Log the client in as the account of a role; returns the client."""

    def _login(role: str):
        login_as(client, tree.users[role])
        return client

    return _login
