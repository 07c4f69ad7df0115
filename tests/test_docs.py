"""The contracts in docs/: every pointer resolves inside the repository, and docs/FORMATS.md lists what
the code reads and writes (a new column or option fails here until it is documented)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORMATS = (ROOT / "docs/FORMATS.md").read_text(encoding="utf-8")
SOURCES = ("README.md", "docs", "app", "api", "analysis", "surveys")
SUFFIXES = {".py", ".html", ".md", ".yaml", ".po"}


def _texts():
    for name in SOURCES:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES)
        for file in files:
            yield file.relative_to(ROOT), file.read_text(encoding="utf-8")


def _heading(number: str) -> re.Match | None:
    return re.search(rf"^(#+) {re.escape(number)}\.? ", FORMATS, re.M)


def _section(number: str) -> str:
    """One numbered section of docs/FORMATS.md ("4", "2.1", …) with its subsections."""
    heading = _heading(number)
    assert heading, f"docs/FORMATS.md has no section {number}"
    level = len(heading.group(1))
    after = FORMATS[heading.end():]
    end = re.search(rf"^#{{1,{level}}} ", after, re.M)
    return after[:end.start()] if end else after


def _table_names(text: str) -> set[str]:
    """The `names` in the first column of the markdown tables of a text."""
    return {name for row in re.findall(r"^\| (.+?) \|", text, re.M) for name in re.findall(r"`([^`]+)`", row)}


def test_nothing_points_outside_the_repository():
    bad = [f"{path}:{n}" for path, text in _texts() for n, line in enumerate(text.splitlines(), 1)
           if "shared/docs" in line or "../shared" in line]
    assert bad == []


def test_every_cited_format_section_exists():
    cited = {(str(path), number) for path, text in _texts()
             for number in re.findall(r"FORMATS(?:\.md)?,? (?:§|section )(\d+(?:\.\d+)?)", text)}
    assert cited, "the code cites docs/FORMATS.md by section"
    missing = sorted(f"{path} cites section {number}" for path, number in cited
                     if not _heading(number))
    assert missing == []


def test_the_documents_the_readme_names_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"docs/[A-Z]+\.md", readme))
    assert {"docs/FORMATS.md", "docs/ARCHITECTURE.md", "docs/DOMAIN.md"} <= named
    assert sorted(n for n in named if not (ROOT / n).exists()) == []


def test_the_responses_csv_columns_are_documented():
    from app.services.exchange.responses_csv import REQUIRED_COLUMNS, RESERVED_COLUMNS

    documented = _table_names(_section("2.1"))
    assert sorted(set(RESERVED_COLUMNS) - documented) == [], "document the new column in docs/FORMATS.md §2.1"
    for column in REQUIRED_COLUMNS:
        assert re.search(rf"^\| `{column}` \| yes \|", _section("2.1"), re.M), column


def test_the_import_files_columns_are_documented():
    from app.services.registry.agencies import AGENCY_COLUMNS, COUNTER_COLUMNS, SERVICE_COLUMNS
    from app.services.registry.volumes import COLUMNS

    assert set(COLUMNS) <= _table_names(_section("5"))
    organisation = _section("6")
    assert set(AGENCY_COLUMNS + COUNTER_COLUMNS) <= _table_names(organisation)
    assert all(f"`{column}`" in organisation for column in SERVICE_COLUMNS)


@pytest.mark.parametrize("command", ["indices", "compare", "rank"])
def test_every_option_of_the_analysis_command_is_documented(command):
    from analysis.cli import build_parser

    parser = build_parser(command)
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    options = {s for a in sub._actions for s in a.option_strings if s.startswith("--") and s != "--help"}
    section = _section("4")
    assert sorted(o for o in options if f"`{o}" not in section) == [], "document it in docs/FORMATS.md §4"
