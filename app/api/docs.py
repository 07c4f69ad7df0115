"""The API described where it runs: GET /api/v1/openapi.json and a readable page, /api/v1/docs.

Both are built from api/openapi.yaml (the one description the tests check the routes against);
the page is rendered on the server from the specification, with our own stylesheet only.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from flask import current_app, jsonify, render_template

from app.api import bp

METHODS = ("get", "post", "put", "patch", "delete")


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def specification() -> dict:
    """api/openapi.yaml as a dict (OPENAPI_SPEC overrides the path), re-read when the file changes."""
    default = Path(current_app.root_path).parent / "api" / "openapi.yaml"
    path = current_app.config.get("OPENAPI_SPEC") or str(default)
    return _load(path, Path(path).stat().st_mtime)


def _operations(spec: dict) -> list[dict]:
    """Each operation with its path and method, in the file's order."""
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                found.append({"path": path, "method": method.upper(), "op": item[method],
                              "anchor": item[method].get("operationId") or f"{method}-{path}"})
    return found


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI specification of this API, as JSON."""
    return jsonify(specification())


@bp.get("/docs")
def docs():
    """A readable page of the specification: operations, parameters, bodies, answers and schemas."""
    spec = specification()
    return render_template("api/docs.html", spec=spec, operations=_operations(spec),
                           base=(spec.get("servers") or [{"url": ""}])[0]["url"])
