"""The API described where it runs: /api/v1/openapi.json is api/openapi.yaml, /api/v1/docs reads it,
and the specification lists exactly the routes the app serves under /api/v1."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import yaml
from markupsafe import escape

SPEC_FILE = Path(__file__).resolve().parents[2] / "api" / "openapi.yaml"
PREFIX = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _spec() -> dict:
    return yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))


def _served(app) -> set[tuple[str, str]]:
    """(path as the specification writes it, method) for every route of the app under /api/v1."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule != PREFIX and not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(PREFIX):]) or "/"
        found |= {(path, method) for method in rule.methods - IGNORED_METHODS}
    return found


def _described(spec: dict) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in spec["paths"].items()
            for method in item if method in {"get", "post", "put", "patch", "delete"}}


def test_every_api_route_is_in_the_specification_and_the_other_way_round(app):
    served, described = _served(app), _described(_spec())
    assert served - described == set(), "served under /api/v1 but missing from api/openapi.yaml"
    assert described - served == set(), "in api/openapi.yaml but not served"
    assert {("/indices", "GET"), ("/receipt-codes", "POST"), ("/openapi.json", "GET"),
            ("/docs", "GET")} <= served


def test_openapi_json_is_the_yaml_file(client):
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == _spec()
    assert response.get_json()["servers"] == [{"url": "/api/v1"}]


class _Assets(HTMLParser):
    """Every address the page loads (stylesheets, scripts, images, frames) and every anchor target."""

    def __init__(self):
        super().__init__()
        self.loaded: list[str] = []
        self.ids: set[str] = set()
        self.fragments: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "link" and attrs.get("rel") == "stylesheet" or tag in {"script", "img", "iframe"}:
            if attrs.get("href") or attrs.get("src"):
                self.loaded.append(attrs.get("href") or attrs.get("src"))
        if tag == "a" and (attrs.get("href") or "").startswith("#"):
            self.fragments.append(attrs["href"][1:])


def test_docs_page_reads_the_specification_with_local_assets_only(client):
    response = client.get(f"{PREFIX}/docs?lang=en")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    spec = _spec()
    for path, method in _described(spec):
        operation = spec["paths"][path][method.lower()]
        assert f'id="{operation["operationId"]}"' in html
        assert str(escape(operation["summary"])) in html
    # Parameters, enums, patterns and the schemas are there in words.
    assert "<code>weighting</code>" in html and "<code>korn-graubard</code>" in html
    assert 'id="schema-Indices"' in html and 'id="schema-Record"' in html
    assert "API reference" in html and "Request body" in html
    parser = _Assets()
    parser.feed(html)
    assert parser.loaded, "the page has its stylesheet"
    for address in parser.loaded:
        assert address.startswith("/") and not address.startswith("//"), f"{address} is not served locally"
        asset = client.get(address)
        assert asset.status_code == 200 and asset.get_data(), address
        asset.close()
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html), "no external asset or link"
    assert set(parser.fragments) <= parser.ids, "every in-page link has its target"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp


def test_docs_page_speaks_vietnamese(client):
    html = client.get(f"{PREFIX}/docs?lang=vi").get_data(as_text=True)
    assert "Tham số" in html and "Thân yêu cầu" in html and "Request body" not in html
