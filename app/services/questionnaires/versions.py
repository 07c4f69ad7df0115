"""Publishing questionnaire files as immutable versions, and reading them back."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select

from analysis.errors import QuestionnaireError
from analysis.questionnaire import Questionnaire, load_questionnaire, parse_questionnaire
from app.extensions import db
from app.models import RATING_SLOTS, QuestionnaireVersion
from app.models import Questionnaire as QuestionnaireRow
from app.models.base import utcnow

SURVEYS_DIR = Path(__file__).resolve().parents[3] / "surveys"
STANDARD_FILES = ("sipas-2017.yaml", "sipas-short.yaml", "arta-csm.yaml", "omb-a11-280.yaml")


class QuestionnaireConflict(Exception):
    """A published version with the same number but other content already exists."""


def rating_slots(questionnaire: Questionnaire) -> dict[str, int]:
    """Map each likert question code to its storage slot (1-based, in file order)."""
    likert = [q.code for q in questionnaire.all_questions() if q.type == "likert"]
    return {code: i for i, code in enumerate(likert, start=1)}


def storage_errors(questionnaire: Questionnaire, source: str) -> list[str]:
    """Limits of the response store that a valid file may still exceed."""
    count = len(rating_slots(questionnaire))
    if count > RATING_SLOTS:
        return [f"{source}: (top): {count} likert questions; at most {RATING_SLOTS} can be stored"]
    return []


def validate_file(path: str | Path) -> Questionnaire:
    """Load and validate a questionnaire file, raising QuestionnaireError with every fault."""
    questionnaire = load_questionnaire(path)
    errors = storage_errors(questionnaire, str(path))
    if errors:
        raise QuestionnaireError(errors)
    return questionnaire


def publish_questionnaire(questionnaire: Questionnaire) -> tuple[QuestionnaireVersion, bool]:
    """Store a validated questionnaire as a published version; idempotent for identical content.

    Returns the version and whether it was created. The caller commits.
    """
    row = db.session.scalar(
        select(QuestionnaireRow).where(QuestionnaireRow.code == questionnaire.code)
    )
    if row is None:
        row = QuestionnaireRow(code=questionnaire.code)
        db.session.add(row)
        db.session.flush()
    existing = db.session.scalar(
        select(QuestionnaireVersion).where(
            QuestionnaireVersion.questionnaire_id == row.id,
            QuestionnaireVersion.version == questionnaire.version,
        )
    )
    if existing is not None:
        if existing.status != "published":
            raise QuestionnaireConflict(
                f"{questionnaire.code} version {questionnaire.version} is an open draft; publish it "
                "from the designer or give the file a new version number"
            )
        if existing.definition != questionnaire.definition:
            raise QuestionnaireConflict(
                f"{questionnaire.code} version {questionnaire.version} is already published "
                "with different content; give the changed questionnaire a new version number"
            )
        return existing, False
    version = QuestionnaireVersion(
        questionnaire_id=row.id,
        version=questionnaire.version,
        status="published",
        definition=questionnaire.definition,
        published_at=utcnow(),
    )
    db.session.add(version)
    db.session.flush()
    return version, True


def load_standard_questionnaires() -> list[tuple[QuestionnaireVersion, bool]]:
    """Publish the standard questionnaires shipped in surveys/ (idempotent). Caller commits."""
    return [publish_questionnaire(validate_file(SURVEYS_DIR / name)) for name in STANDARD_FILES]


def latest_published(code: str) -> QuestionnaireVersion | None:
    """The highest published version of a questionnaire code."""
    return db.session.scalar(
        select(QuestionnaireVersion)
        .join(QuestionnaireRow)
        .where(QuestionnaireRow.code == code, QuestionnaireVersion.status == "published")
        .order_by(QuestionnaireVersion.version.desc())
        .limit(1)
    )


@lru_cache(maxsize=256)
def _parsed(definition_json: str) -> Questionnaire:
    return parse_questionnaire(json.loads(definition_json), source="stored version")


def questionnaire_of(version: QuestionnaireVersion) -> Questionnaire:
    """The parsed questionnaire of a stored version (cached by content, which never changes)."""
    return _parsed(json.dumps(version.definition, sort_keys=True))
