"""GET /api/v1/indices: token authentication, scope, filters, and answers that match api/openapi.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.extensions import db
from app.services.accounts.users import issue_api_token
from tests.reports.conftest import _fresh_per_request, as_user, province  # noqa: F401  (fixtures)

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "api" / "openapi.yaml").read_text())
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        node = SPEC
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _check_type(value, kind: str, path: str) -> None:
    if kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: not an integer"
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), f"{path}: not a number"
    else:
        assert isinstance(value, TYPES[kind]), f"{path}: not {kind}"


def validate(value, schema: dict, path: str = "$") -> None:
    """Check a value against the subset of OpenAPI 3.0 schema keywords api/openapi.yaml uses."""
    schema = _resolve(schema)
    if value is None:
        assert schema.get("nullable"), f"{path}: null not allowed"
        return
    _check_type(value, schema["type"], path)
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if schema["type"] == "array":
        for i, item in enumerate(value):
            validate(item, schema["items"], f"{path}[{i}]")
    if schema["type"] == "object":
        _validate_object(value, schema, path)


def _validate_object(value: dict, schema: dict, path: str) -> None:
    for name in schema.get("required", []):
        assert name in value, f"{path}: missing {name}"
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            validate(item, properties[name], f"{path}.{name}")
        elif isinstance(extra, dict):
            validate(item, extra, f"{path}.{name}")
        else:
            assert extra is not False, f"{path}: unexpected key {name}"


def _schema(status: str) -> dict:
    responses = SPEC["paths"]["/indices"]["get"]["responses"]
    response = _resolve(responses[status])
    return response["content"]["application/json"]["schema"]


@pytest.fixture
def token(province):  # noqa: F811
    """API tokens of the province leader, the district leader and the designer."""
    tokens = {name: issue_api_token(province.users[name], province.users["administrator"])
              for name in ("province", "district", "designer")}
    db.session.commit()
    return tokens


def _get(client, token: str | None, query: str = ""):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(f"/api/v1/indices{query}", headers=headers)


def test_scope_indices_match_the_openapi_file(client, token):
    response = _get(client, token["province"])
    assert response.status_code == 200
    body = response.get_json()
    validate(body, _schema("200"))
    overall = [r for r in body["results"] if r["code"] == "OVERALL"]
    assert len(overall) == 1 and overall[0]["by"] == {"agency": "DEMO"}
    assert overall[0]["ci_low"] < overall[0]["estimate"] < overall[0]["ci_high"]
    assert body["meta"]["period"] == {"start": "2025-01", "end": "2025-12", "incomplete": False}


@pytest.mark.parametrize("query", ["?by=agency", "?by=month&weighting=unweighted",
                                   "?by=agency&level=commune&channel=qr&verified=1&measure=mean-score"])
def test_grouped_answers_match_the_openapi_file(client, token, query):
    body = _get(client, token["province"], query).get_json()
    validate(body, _schema("200"))
    assert len({tuple(r["by"].items()) for r in body["results"]}) > 5


def test_same_numbers_as_the_pages(client, token, province):  # noqa: F811
    from app.services.reports import estimates as rs
    from app.services.reports import pages

    body = _get(client, token["province"], "?verified=1").get_json()
    expected = pages.build_overview(province.province.id, rs.ReportFilters(verified_only=True))
    got = {r["code"]: r["estimate"] for r in body["results"]}
    assert got["OVERALL"] == pytest.approx(expected.record("OVERALL")["estimate"], rel=1e-12)


def test_authentication_and_scope(client, token, province):  # noqa: F811
    for status, response in (
        ("401", _get(client, None)),
        ("401", _get(client, "not-a-token")),
        ("403", _get(client, token["designer"])),
        ("403", _get(client, token["district"], "?agency=DEMO")),
        ("403", _get(client, token["district"], "?agency=DEMO-H02")),
        ("404", _get(client, token["province"], "?agency=NOPE")),
        ("400", _get(client, token["province"], "?by=stratum")),
    ):
        assert response.status_code == int(status)
        validate(response.get_json(), _schema(status))
    own = _get(client, token["district"]).get_json()
    assert {r["by"]["agency"] for r in own["results"]} == {"DEMO-H01"}


@pytest.mark.parametrize("query, message", [
    ("?questionnaire=sipas-2017%00", "NUL"),             # PostgreSQL refuses NUL in a query: was a 500 there
    ("?agency=DEMO%00", "NUL"),
    ("?service=2147483648", "service must be"),          # past PostgreSQL's integer: was a 500 there
    ("?service=99999999999999999999", "service must be"),  # past any 64-bit integer: was a 500 everywhere
    ("?service=%C2%B2", "service must be"),              # "²" is a digit to str.isdigit, not to int()
    ("?service=0", "service must be"),
    ("?start=0000-01", "start must be"),                 # year 0: was a 500
    ("?end=9999-12", "end must be"),                     # the month after it is year 10000: was a 500
    ("?start=2025-13", "start must be"),
    ("?end=2025", "end must be"),
    ("?level=galaxy", "not allowed: level"),  # issue 15: an unknown filter is a 400, not the default
    ("?weighting=magic&channel=fax", "not allowed: channel, weighting"),
    ("?measure=x", "not allowed: measure"),
])
def test_values_outside_the_openapi_file_are_refused(client, token, query, message):
    response = _get(client, token["province"], query)
    assert response.status_code == 400 and message in response.get_json()["message"]
    validate(response.get_json(), _schema("400"))


@pytest.mark.parametrize("query", ["?start=1900-01&end=2999-12&by=month", "?start=2999-12&end=1900-01",
                                   "?service=2147483647", "?start=&end=&service="])
def test_values_at_the_bounds_are_answered(client, token, query):
    response = _get(client, token["province"], query)
    assert response.status_code == 200
    validate(response.get_json(), _schema("200"))


def test_ranks_and_changes_are_the_pages(client, token, province):  # noqa: F811
    """Issue 15: by=agency carries each unit's rank, rank interval and change of rank and of index."""
    from app.services.reports import estimates as rs
    from app.services.reports import pages

    body = _get(client, token["province"], "?by=agency&start=2025-07&end=2025-12").get_json()
    validate(body, _schema("200"))
    filters = rs.ReportFilters(start="2025-07", end="2025-12")
    rows = pages.build_ranking(province.province.id, filters, "vi").rows
    overall = {r["by"]["agency"]: r for r in body["results"] if r["code"] == "OVERALL"}
    assert sorted(r["rank"]["rank"] for r in overall.values() if r["rank"]["rank"]) == list(
        range(1, 1 + sum(1 for r in rows if r["rank"])))
    for row in rows:
        got = overall[row["code"]]
        assert got["rank"] == {"rank": row["rank"], "low": row["rank_low"], "high": row["rank_high"],
                               "previous": row["previous_rank"], "change": row["rank_change"]}
        if row["change"] and row["change"]["estimate"] is not None:
            assert got["change"]["estimate"] == pytest.approx(row["change"]["estimate"], rel=1e-12)
            assert got["change"]["significant"] == (row["change_significance"] != "same")
    assert all("rank" not in r for r in body["results"] if r["code"] != "OVERALL")
