"""Questionnaire designer: drafts edited as questionnaire files, validated, published, cloned."""

from __future__ import annotations

import json
from dataclasses import dataclass

import yaml
from sqlalchemy import func, select

from analysis.errors import QuestionnaireError
from analysis.questionnaire import Questionnaire, parse_questionnaire
from app.extensions import db
from app.models import Questionnaire as QuestionnaireRow
from app.models import QuestionnaireVersion, User
from app.models.base import utcnow
from app.services.accounts.audit import record_event
from app.services.questionnaires.versions import STANDARD_FILES, SURVEYS_DIR, storage_errors

BLANK = {
    "code": "new",
    "version": 1,
    "title": {"vi": "Khảo sát sự hài lòng", "en": "Satisfaction survey"},
    "languages": ["vi", "en"],
    "scale": {
        "points": 5,
        "labels": {
            "vi": ["Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"],
            "en": ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"],
        },
        "satisfied": [4, 5],
    },
    "elements": [
        {"code": "E1", "title": {"vi": "Tiếp cận dịch vụ", "en": "Access to the service"}, "weight": 1,
         "questions": [{"code": "E1_1", "type": "likert", "required": False,
                        "text": {"vi": "Nơi chờ và trang thiết bị",
                                 "en": "The waiting area and equipment"}}]},
    ],
    "questions": [],
}
MAX_FILE_CHARS = 200_000


class DesignerError(ValueError):
    """A designer action was refused; `errors` lists every reason."""

    def __init__(self, errors: list[str] | str):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


def templates() -> list[tuple[str, str]]:
    """Starting points: a blank questionnaire and the standard files in surveys/."""
    return [("blank", "blank"), *[(name, name.removesuffix(".yaml")) for name in STANDARD_FILES]]


def _template(name: str) -> dict:
    if name == "blank":
        return json.loads(json.dumps(BLANK))
    if name not in STANDARD_FILES:
        raise DesignerError(f"unknown template {name!r}")
    return yaml.safe_load((SURVEYS_DIR / name).read_text(encoding="utf-8"))


def read_file_text(text: str, source: str) -> dict:
    """A questionnaire file's text (YAML or JSON) as a mapping, or DesignerError."""
    if len(text) > MAX_FILE_CHARS:
        raise DesignerError(f"{source}: the file is larger than {MAX_FILE_CHARS} characters")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DesignerError(f"{source}: not valid YAML or JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise DesignerError(f"{source}: (top): expected a mapping of keys such as code, title, elements")
    return document


def file_text(definition: dict) -> str:
    """A definition as a readable YAML questionnaire file (FORMATS.md §1)."""
    return yaml.safe_dump(definition, allow_unicode=True, sort_keys=False, width=100)


def list_questionnaires() -> list[QuestionnaireRow]:
    """Every questionnaire with its versions."""
    return list(db.session.scalars(select(QuestionnaireRow).order_by(QuestionnaireRow.code)))


def current_draft(row: QuestionnaireRow) -> QuestionnaireVersion | None:
    """The questionnaire's draft, if one is open."""
    return next((v for v in row.versions if v.status == "draft"), None)


def _next_number(row: QuestionnaireRow) -> int:
    return (db.session.scalar(
        select(func.max(QuestionnaireVersion.version)).where(QuestionnaireVersion.questionnaire_id == row.id)
    ) or 0) + 1


def _new_draft(row: QuestionnaireRow, definition: dict, actor: User, action: str) -> QuestionnaireVersion:
    if current_draft(row) is not None:
        raise DesignerError(f"{row.code} already has a draft; edit or delete it first")
    number = _next_number(row)
    definition = {**definition, "code": row.code, "version": number}
    version = QuestionnaireVersion(questionnaire_id=row.id, version=number, status="draft",
                                   definition=definition)
    db.session.add(version)
    db.session.flush()
    db.session.refresh(row)
    record_event(actor, action, f"{row.code} v{number}")
    return version


def _questionnaire_row(code: str, create: bool) -> QuestionnaireRow:
    row = db.session.scalar(select(QuestionnaireRow).where(QuestionnaireRow.code == code))
    if row is None and create:
        row = QuestionnaireRow(code=code)
        db.session.add(row)
        db.session.flush()
    return row


def create_from_template(template: str, code: str, actor: User) -> QuestionnaireVersion:
    """Start a new questionnaire as a draft copied from a template (caller commits)."""
    if _questionnaire_row(code, create=False) is not None:
        raise DesignerError(f"a questionnaire {code} exists already; clone one of its versions instead")
    definition = _template(template)
    return _new_draft(_questionnaire_row(code, create=True), definition, actor, "questionnaire.create")


def import_file(text: str, source: str, actor: User) -> QuestionnaireVersion:
    """A questionnaire file becomes a draft: of a new questionnaire, or the next version of its code."""
    definition = read_file_text(text, source)
    code = definition.get("code")
    if not isinstance(code, str) or not code or len(code) > 64:
        raise DesignerError(f"{source}: code: a questionnaire code such as sipas-2017 is required")
    return _new_draft(_questionnaire_row(code, create=True), definition, actor, "questionnaire.import")


def clone_version(version: QuestionnaireVersion, actor: User) -> QuestionnaireVersion:
    """A new draft with the content of a version, numbered after the latest one (caller commits)."""
    return _new_draft(version.questionnaire, dict(version.definition), actor, "questionnaire.clone")


def check_definition(definition: dict, source: str) -> tuple[Questionnaire | None, list[str]]:
    """Validate a definition: the questionnaire, or every error with its key path."""
    try:
        questionnaire = parse_questionnaire(definition, source=source)
    except QuestionnaireError as exc:
        return None, exc.errors
    errors = storage_errors(questionnaire, source)
    return (None, errors) if errors else (questionnaire, [])


def _require_draft(version: QuestionnaireVersion) -> None:
    if version.status != "draft":
        raise DesignerError(f"version {version.version} is published and cannot change; clone it instead")


def save_draft(version: QuestionnaireVersion, text: str, actor: User) -> list[str]:
    """Store a draft's new text (even if not yet valid); return its validation errors."""
    _require_draft(version)
    return save_definition(version, read_file_text(text, "draft"), actor)


def save_definition(version: QuestionnaireVersion, definition: dict, actor: User) -> list[str]:
    """Store a draft's new definition (even if not yet valid); return its validation errors."""
    _require_draft(version)
    # The code and number belong to the draft row; the file cannot move it elsewhere.
    definition = {**definition, "code": version.questionnaire.code, "version": version.version}
    version.definition = definition
    record_event(actor, "questionnaire.save", f"{version.questionnaire.code} v{version.version}")
    return check_definition(definition, "draft")[1]


def publish_draft(version: QuestionnaireVersion, actor: User) -> QuestionnaireVersion:
    """Publish a valid draft as an immutable version; DesignerError lists why it is invalid."""
    _require_draft(version)
    questionnaire, errors = check_definition(version.definition, "draft")
    if errors:
        raise DesignerError(errors)
    version.definition = questionnaire.definition
    version.status = "published"
    version.published_at = utcnow()
    record_event(actor, "questionnaire.publish", f"{version.questionnaire.code} v{version.version}")
    return version


def delete_draft(version: QuestionnaireVersion, actor: User) -> None:
    """Drop a draft (published versions stay forever)."""
    _require_draft(version)
    record_event(actor, "questionnaire.delete_draft", f"{version.questionnaire.code} v{version.version}")
    db.session.delete(version)


@dataclass(frozen=True)
class Preview:
    """What the preview page needs: the parsed questionnaire, or why it cannot be shown."""

    questionnaire: Questionnaire | None
    errors: list[str]


def preview(version: QuestionnaireVersion) -> Preview:
    """Parse a version for the preview."""
    return Preview(*check_definition(version.definition, "draft"))
