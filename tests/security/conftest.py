"""Security fixtures: the admin tree and the citizen-flow organisation, and a CSRF-enforcing app."""

from __future__ import annotations

import pytest

from app import create_app
from app.extensions import db
from tests.admin.conftest import _fresh_login_per_request, tree  # noqa: F401  (fixtures reused)
from tests.conftest import _test_config
from tests.public.conftest import build_org


@pytest.fixture
def org(app):
    """The citizen-flow organisation: counters on the full SIPAS form and the short form."""
    return build_org()


@pytest.fixture
def csrf_app(app, database_url, tmp_path):
    """A second app over the same (empty) tables, with CSRF protection on as in production."""
    config = _test_config(database_url, tmp_path / "csrf-instance")
    config["WTF_CSRF_ENABLED"] = True
    strict = create_app(config)
    with strict.app_context():
        yield strict
        db.session.remove()
        db.engine.dispose()
