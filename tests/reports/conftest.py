"""Report fixtures: the demo province and accounts scoped to it or to one of its districts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from flask import g
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import Agency, Base, User
from app.services.exchange.demo import build_demo
from app.services.reports import estimates as rs
from tests.admin.conftest import login_as, make_user


@pytest.fixture(autouse=True)
def _fresh_per_request(app):
    # One app context spans the test; forget the cached user and report tables between requests.
    @app.before_request
    def _forget_cached_user():
        g.pop("_login_user", None)

    rs.invalidate()
    yield
    rs.invalidate()


@dataclass
class Province:
    """The demo province, one of its districts, and accounts."""

    province: Agency
    district: Agency
    other_district: Agency
    users: dict[str, User]


_SNAPSHOT: dict[str, list[dict]] = {}


def _load_demo() -> None:
    """Build the demo once per session, then copy its rows back (2 s → 0.2 s per test)."""
    tables = Base.metadata.sorted_tables
    if not _SNAPSHOT:
        build_demo(seed=7, responses=2000, end_month=date(2025, 12, 1))
        db.session.flush()
        for table in tables:
            _SNAPSHOT[table.name] = [dict(row) for row in db.session.execute(select(table)).mappings()]
        return
    for table in tables:
        if _SNAPSHOT[table.name]:
            db.session.execute(table.insert(), _SNAPSHOT[table.name])
    if db.engine.dialect.name == "postgresql":
        # Rows came with their ids: move each sequence past them, as the real inserts did.
        for table in tables:
            if "id" in table.c and _SNAPSHOT[table.name]:
                top = db.session.scalar(select(func.max(table.c.id)))
                sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
                db.session.execute(text(f"SELECT setval({sequence}, {top})"))


@pytest.fixture
def province(app) -> Province:
    """2,000 demo responses over 2025; a province leader, a district leader, a designer."""
    _load_demo()
    top = db.session.scalar(select(Agency).where(Agency.code == "DEMO"))
    district = db.session.scalar(select(Agency).where(Agency.code == "DEMO-H01"))
    other = db.session.scalar(select(Agency).where(Agency.code == "DEMO-H02"))
    users = {
        "province": make_user("chief@example.org", "leader", top),
        "district": make_user("district@example.org", "leader", district),
        "designer": make_user("designer@example.org", "designer"),
        "administrator": make_user("admin@example.org", "administrator"),
    }
    db.session.commit()
    return Province(top, district, other, users)


@pytest.fixture
def as_user(client, province):
    """Log the client in as one of the province's accounts."""

    def _login(name: str):
        login_as(client, province.users[name])
        return client

    return _login
