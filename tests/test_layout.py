"""The layout's rules, read from the source (docs/ARCHITECTURE.md, "Import rules").

- `analysis/` imports nothing from `app/` (it is a pure package and a command of its own);
- services never import `flask.request` (they take plain values, so CLI, API and views share them);
- a blueprint never imports another blueprint;
- blueprints import only the names a service package exports, never its modules' insides;
- `app/services/` holds domain packages only.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLUEPRINTS = ("admin", "api", "auth", "public", "reports")


def _imports(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names) of every import in a file, nested ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module, tuple(alias.name for alias in node.names)))
    return found


def _python_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_analysis_imports_nothing_from_the_app():
    bad = [f"{path.relative_to(ROOT)}:{line} imports {module}"
           for path in _python_files(ROOT / "analysis")
           for line, module, _names in _imports(path)
           if module == "app" or module.startswith("app.")]
    assert bad == []


def test_services_never_read_the_request():
    bad = [f"{path.relative_to(ROOT)}:{line}"
           for path in _python_files(ROOT / "app/services")
           for line, module, names in _imports(path)
           if (module == "flask" and "request" in names) or module == "flask.request"]
    assert bad == []


def _blueprint_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "app" and parts[1] in BLUEPRINTS else None


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_a_blueprint_never_imports_another(blueprint):
    bad = [f"{path.relative_to(ROOT)}:{line} imports {module}"
           for path in _python_files(ROOT / "app" / blueprint)
           for line, module, _names in _imports(path)
           if _blueprint_of(module) not in (None, blueprint)]
    assert bad == []


def _outside_services() -> list[Path]:
    app = ROOT / "app"
    return [p for p in _python_files(app) if "services" not in p.relative_to(app).parts]


def test_blueprints_import_only_what_a_service_package_exports():
    bad = []
    for path in _outside_services():
        for line, module, names in _imports(path):
            parts = module.split(".")
            if parts[:2] != ["app", "services"]:
                continue
            where = f"{path.relative_to(ROOT)}:{line}"
            if len(parts) != 3:
                bad.append(f"{where} reaches inside {module}")
                continue
            exported = importlib.import_module(module).__all__
            bad += [f"{where} imports {name}, which {module} does not export"
                    for name in names if name not in exported]
    assert bad == []


def test_services_are_domain_packages_only():
    services = ROOT / "app/services"
    loose = sorted(p.name for p in services.glob("*.py") if p.name != "__init__.py")
    assert loose == []
    for package in (p for p in services.iterdir() if p.is_dir() and p.name != "__pycache__"):
        init = package / "__init__.py"
        assert init.exists(), package
        assert ast.get_docstring(ast.parse(init.read_text())), f"{package.name} says nothing of what it owns"


def test_every_exported_name_resolves():
    for package in sorted(p.name for p in (ROOT / "app/services").iterdir() if (p / "__init__.py").exists()):
        module = importlib.import_module(f"app.services.{package}")
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{package}.{name}"
