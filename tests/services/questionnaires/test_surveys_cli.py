"""`flask surveys validate` and `flask surveys load`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import QuestionnaireVersion

SURVEYS = sorted(str(p) for p in (Path(__file__).parents[3] / "surveys").glob("*.yaml"))

BROKEN = """\
code: Bad Code
version: 0
title: {vi: "Khảo sát"}
languages: [vi, en]
scale: {points: 5, labels: {vi: [a, b, c, d, e], en: [a, b, c, d, e]}, satisfied: [4, 9]}
elements:
  - code: E1
    title: {vi: "Yếu tố", en: "Element"}
    questions:
      - {code: E1_1, type: likret, text: {vi: "Câu", en: "Q"}}
"""


def _versions() -> int:
    return db.session.scalar(select(func.count()).select_from(QuestionnaireVersion))


def test_validate_accepts_the_standard_files(runner):
    result = runner.invoke(args=["surveys", "validate", *SURVEYS])
    assert result.exit_code == 0, result.output
    assert "ok: sipas-2017 version 2 (22 criteria)" in result.output  # v2 adds skip logic (issue 17)
    assert "ok: sipas-short version 1 (5 criteria)" in result.output


def test_validate_lists_every_error_with_file_and_key_path(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN, encoding="utf-8")
    result = runner.invoke(args=["surveys", "validate", str(bad)])
    assert result.exit_code == 1
    for path in ("code", "version", "title.en", "scale.satisfied[1]", "elements[0].questions[0].type"):
        assert f"{bad}: {path}:" in result.output, (path, result.output)


def test_load_publishes_and_is_idempotent(runner):
    result = runner.invoke(args=["surveys", "load", *SURVEYS])
    assert result.exit_code == 0, result.output
    assert _versions() == len(SURVEYS)
    again = runner.invoke(args=["surveys", "load", *SURVEYS])
    assert "already published, unchanged" in again.output
    assert _versions() == len(SURVEYS)


def test_load_with_one_invalid_file_loads_nothing(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN, encoding="utf-8")
    result = runner.invoke(args=["surveys", "load", SURVEYS[0], str(bad)])
    assert result.exit_code == 1
    assert "nothing was loaded" in result.output
    assert _versions() == 0


def test_changed_content_under_the_same_version_is_refused(runner, tmp_path):
    sipas = next(p for p in SURVEYS if p.endswith("sipas-2017.yaml"))
    original = Path(sipas).read_text(encoding="utf-8")
    assert runner.invoke(args=["surveys", "load", sipas]).exit_code == 0
    changed = tmp_path / "changed.yaml"
    changed.write_text(original.replace("Rất hài lòng", "Rất rất hài lòng", 1), encoding="utf-8")
    result = runner.invoke(args=["surveys", "load", str(changed)])
    assert result.exit_code == 1
    assert "already published with different content" in result.output
    assert _versions() == 1


def test_published_version_cannot_be_modified(runner):
    import pytest

    from app.models import PublishedVersionImmutable

    runner.invoke(args=["surveys", "load", SURVEYS[0]])
    version = db.session.scalar(select(QuestionnaireVersion))
    version.definition = {**version.definition, "version": 99}
    with pytest.raises(PublishedVersionImmutable):
        db.session.flush()
    db.session.rollback()


def test_loading_over_an_open_draft_is_refused(runner):
    from app.models import Questionnaire

    sipas = next(p for p in SURVEYS if p.endswith("sipas-short.yaml"))
    row = Questionnaire(code="sipas-short")
    db.session.add(row)
    db.session.flush()
    db.session.add(QuestionnaireVersion(questionnaire_id=row.id, version=1, status="draft", definition={}))
    db.session.commit()
    result = runner.invoke(args=["surveys", "load", sipas])
    assert result.exit_code == 1 and "is an open draft" in result.output
    assert db.session.scalar(select(QuestionnaireVersion.status)) == "draft"
