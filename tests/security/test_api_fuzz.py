"""The read API against its OpenAPI file, randomised: never a 500, always JSON, never outside scope.

For every GET operation in api/openapi.yaml it draws query strings from the
declared parameter schemas, with hostile values mixed in (SQL, markup, NUL,
huge numbers, long text), and sends them with a valid token, a wrong token and
none: without a valid token the answer must be exactly 401. It complements
test_api_schemathesis.py, whose generated values rarely include these, and
whose auth check (ignored_auth) accepts 401 or 403 and probes only requests
that succeeded with the token.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.inputs import control_character
from app.models import Agency
from app.services.accounts.users import issue_api_token
from tests.admin.conftest import make_user

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "api/openapi.yaml").read_text())
BASE = SPEC["servers"][0]["url"]
BAD = st.sampled_from(["", "' OR 1=1 --", "<script>", "9" * 30, "-1", "2025-13", "\x00", "null", "ü" * 300])


def _values(schema: dict) -> st.SearchStrategy:
    """Values a parameter's schema allows, and some it does not."""
    if "enum" in schema:
        good = st.sampled_from([str(v) for v in schema["enum"]])
    elif schema.get("type") == "integer":
        good = st.integers(-(2**63), 2**63).map(str)
    elif "pattern" in schema:
        good = st.from_regex(schema["pattern"], fullmatch=True)
    else:
        good = st.text(max_size=20)
    return st.one_of(good, good, BAD, st.text(max_size=30))


def _queries(operation: dict) -> st.SearchStrategy:
    params = {p["name"]: _values(p.get("schema", {})) for p in operation.get("parameters", [])
              if p.get("in") == "query"}
    return st.fixed_dictionaries({}, optional=params)


OPERATIONS = [(path, op) for path, item in SPEC["paths"].items() for method, op in item.items()
              if method == "get"]


@pytest.mark.parametrize(("path", "operation"), OPERATIONS, ids=[p for p, _ in OPERATIONS])
def test_every_get_operation_answers_json_and_never_500(app, demo, path, operation):
    province = db.session.scalars(select(Agency).where(Agency.parent_id.is_(None))).first()
    leader = make_user("api-leader@example.org", "leader", province)
    admin = make_user("api-admin@example.org", "administrator")
    token = issue_api_token(leader, admin)
    db.session.commit()
    client = app.test_client()
    documented = {int(code) for code in operation.get("responses", {}) if str(code).isdigit()}
    # The description of the API (/, /openapi.json, /docs) needs no token (security: []); /docs is HTML.
    public = operation.get("security") == []
    media = next(iter(operation["responses"]["200"].get("content", {"application/json": {}})))
    seen: set[int] = set()

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(query=_queries(operation), auth=st.sampled_from(["good", "wrong", "none"]))
    def check(query, auth):
        headers = {"good": {"Authorization": f"Bearer {token}"},
                   "wrong": {"Authorization": "Bearer not-a-token"}, "none": {}}[auth]
        response = client.get(BASE + path, query_string=query, headers=headers)
        seen.add(response.status_code)
        assert response.status_code < 500, (query, auth, response.status_code)
        assert response.mimetype == media, (query, auth, response.mimetype)
        # Text with control characters is refused where it enters (app.inputs), before any token check.
        hostile = any(control_character(f"{k}{v}", multiline=False) for k, v in query.items())
        if auth != "good" and not public:
            assert response.status_code == (400 if hostile else 401), (query, response.status_code)
        if documented:
            assert response.status_code in documented | {429}, (query, response.status_code)

    check()
    assert 200 in seen, seen  # the random queries reached real answers, not only refusals
