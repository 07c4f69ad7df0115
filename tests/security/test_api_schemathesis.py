"""Schemathesis against api/openapi.yaml: never a 500, and every answer is the one the file describes.

For every operation in the file, schemathesis' examples, coverage and fuzzing
phases send valid and invalid requests (generation mode "all") to the Flask
app through its WSGI transport, over the real database (SQLite, or PostgreSQL
with TEST_DATABASE_URL) holding the demo province, with the API token of the
manager of one district, who may read reports and issue receipt codes there.
Real agency and counter codes, in that district and outside it, are mixed into
the generated values so that requests get past the 404s to real answers and
to the scope refusals. Deterministic (a fixed seed, derandomized), and
bounded: MAX_EXAMPLES fuzzed cases per operation, plus the cases of the
examples and coverage phases.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis import checks
from sqlalchemy import select

from app.extensions import db
from app.models import Agency, ServicePoint
from app.services.accounts.users import issue_api_token
from tests.admin.conftest import make_user
from tests.reports.conftest import _fresh_per_request, province  # noqa: F401  (fixtures reused)

SPEC = Path(__file__).resolve().parents[2] / "api" / "openapi.yaml"
MAX_EXAMPLES = 50
# Demo codes (tests/reports/conftest.py builds the demo with seed 7): the token's district and a commune
# in it, then the province, another district and a department, all outside the manager's scope.
AGENCIES = ["DEMO-H01", "DEMO-H01-X01", "DEMO", "DEMO-H02", "DEMO-S05"]
COUNTERS = ["DEMO-H01-Q1", "DEMO-H01-X01-Q1", "DEMO-Q1", "DEMO-H02-X03-Q1"]
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    # Re-sends a successful request with no token and with a wrong one: both must be refused.
    checks.ignored_auth,
]


class CurrentApp:
    """The WSGI application the schema is bound to: the Flask app of the running test.

    The schema and its operations are built when pytest collects this module,
    before any app exists, and schemathesis' checks that re-send a request (such
    as ignored_auth) go to the schema's own application, so it cannot be passed
    per call. (schemathesis' `from_fixture` loader, which would build the schema
    inside a fixture, reads a pytest node attribute that pytest 9.2 removed.)
    """

    app: Flask | None = None

    def __call__(self, environ, start_response):
        assert self.app is not None, "the `api` fixture binds the app"
        return self.app(environ, start_response)


CURRENT_APP = CurrentApp()

schema = schemathesis.openapi.from_path(SPEC, config=schemathesis.Config.from_dict({
    "seed": 20251201,
    "generation": {
        "mode": "all",
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        "database": "none",
        # The manager's token goes with every call; ignored_auth tries the requests without it.
        "with-security-parameters": False,
    },
    "dictionaries": {"agencies": {"values": AGENCIES}, "counters": {"values": COUNTERS}},
    "parameters": {
        "query.agency": {"dictionary": "agencies", "probability": 0.5},
        "body.service_point": {"dictionary": "counters", "probability": 0.5},
    },
}))
schema.app = CURRENT_APP


class Api:
    """The headers of an authorised call, and the status codes the operation answered."""

    def __init__(self, token: str):
        # identity: schemathesis' WSGI transport reads the body as sent, and the app compresses JSON
        # and HTML for clients that accept it (Flask-Compress).
        self.headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
        self.statuses: Counter[int] = Counter()
        self.failed = False


@pytest.fixture
def api(app, province):  # noqa: F811
    """The demo province, the API token of the manager of district DEMO-H01, and the app bound."""
    manager = make_user("api-manager@example.org", "manager", province.district)
    token = issue_api_token(manager, province.users["administrator"])
    db.session.commit()
    assert set(AGENCIES) <= set(db.session.scalars(select(Agency.code)))
    assert set(COUNTERS) <= set(db.session.scalars(select(ServicePoint.code).where(ServicePoint.active)))
    api = Api(token)

    @app.teardown_request
    def _end_transaction(_error):
        # The test's one app context keeps one session; in production each request has its own, so a
        # statement that failed (PostgreSQL aborts the transaction) must not fail the requests after it.
        db.session.rollback()

    CURRENT_APP.app = app
    yield api
    CURRENT_APP.app = None
    if not api.failed:  # a failing case says for itself what went wrong
        # Each test is one operation: its generated requests reached real answers, not only refusals.
        assert any(200 <= code < 300 for code in api.statuses), api.statuses


@schema.parametrize()
# One demo province and token serve all of an operation's cases: the requests change no stored data
# (receipt codes are signed, not stored), so nothing needs rebuilding between them.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_answers_as_documented(case, api):
    try:
        response = case.call_and_validate(headers=api.headers, checks=CHECKS)
    except BaseException:
        api.failed = True
        raise
    if case.method.upper() == case.operation.method.upper():  # not one of the coverage phase's other methods
        api.statuses[response.status_code] += 1
