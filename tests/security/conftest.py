"""Security fixtures: the admin tree, the citizen-flow organisation, a CSRF-enforcing client, row counts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Base
from tests.admin.conftest import _fresh_login_per_request, tree  # noqa: F401  (fixtures reused)
from tests.public.conftest import build_org


@pytest.fixture
def org(app):
    """The citizen-flow organisation: counters on the full SIPAS form and the short form."""
    return build_org()


@pytest.fixture
def csrf_client(app):
    """A client of the shared app with CSRF protection switched on, as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    return app.test_client()


def row_counts() -> dict[str, int]:
    """The number of rows in every table: a request that was refused must leave them all alone."""
    return {table.name: db.session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables}
