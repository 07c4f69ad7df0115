"""A national installation (issue 20): its units' keys, the signed totals files they send, and the ranking.

The units are the top-level agencies (provinces and ministries). A file is stored only when everything
holds: a registered key verifies its signature, the reader accepts it (format, margins), its unit is
known, its questionnaire is the one published here under that code and version (same definition hash),
and its period is the same as, or does not overlap, each of the unit's stored periods of that
questionnaire. The same period again replaces the older file (kept inactive, audited).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import current_app
from sqlalchemy import select

from analysis.errors import AnalysisError
from analysis.io import DataError
from analysis.totals_file import TotalsFile, definition_sha256, read_totals, unit_of, verify_totals
from app.extensions import db
from app.models import Agency, QuestionnaireVersion, TotalsImport, TotalsUnitKey, User
from app.models import Questionnaire as QuestionnaireRow
from app.services.accounts.audit import record_event
from app.services.exchange.problems import Problem
from app.services.questionnaires.versions import questionnaire_of

INSTALLATION_LEVELS = ("province", "national")


class TotalsImportRefused(ValueError):
    """A file (or key) refused; args[0] is a Problem (English as str, `translated()` for pages)."""

    @property
    def problem(self) -> Problem:
        """The reason, in the reader's language on a page."""
        return self.args[0]


def is_national() -> bool:
    """Whether this installation is a national one (INSTALLATION_LEVEL, docs/DEPLOY.md)."""
    return current_app.config.get("INSTALLATION_LEVEL", "province") == "national"


def national_units() -> list[Agency]:
    """The units: active top-level agencies, by code."""
    return list(db.session.scalars(select(Agency).where(Agency.parent_id.is_(None), Agency.active)
                                   .order_by(Agency.code)))


def _unit(code: str) -> Agency | None:
    return db.session.scalar(select(Agency).where(Agency.code == code, Agency.parent_id.is_(None),
                                                  Agency.active))


def trust_unit_key(unit_code: str, public_key_pem: bytes, actor: User | None) -> TotalsUnitKey:
    """Register (or change) a unit's public key; audited. The caller commits."""
    agency = _unit(unit_code)
    if agency is None:
        raise _refused("unknown unit %(unit)s: no active top-level agency has that code", unit=unit_code)
    try:
        key = load_pem_public_key(public_key_pem)
    except (ValueError, TypeError):
        raise _refused("not a PEM public key (paste what `flask totals key` prints)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise _refused("the public key is not an Ed25519 key")
    text = public_key_pem.decode("ascii").strip() + "\n"
    row = db.session.get(TotalsUnitKey, agency.id)
    changed = row is not None and row.public_key_pem != text
    if row is None:
        row = TotalsUnitKey(agency_id=agency.id, public_key_pem=text)
        db.session.add(row)
    row.public_key_pem = text
    record_event(actor, "totals.key", agency.code, changed=changed,
                 fingerprint=hashlib.sha256(text.encode()).hexdigest()[:16])
    db.session.flush()
    return row


@dataclass(frozen=True)
class ImportOutcome:
    """The stored file and the one it replaced, if any."""

    stored: TotalsImport
    replaced: TotalsImport | None


def _overlaps(a_from: str, a_to: str, b_from: str, b_to: str) -> bool:
    return a_from <= b_to and b_from <= a_to


def _refused(msgid: str, **params) -> TotalsImportRefused:
    return TotalsImportRefused(Problem(msgid, **params))


def _signed_file(data: bytes, signature: bytes | None, file_name: str) -> tuple[Agency, TotalsFile]:
    """The file's unit and its checked contents, once its unit's key verifies its signature."""
    try:
        unit_code = unit_of(file_name, data)
    except DataError as exc:
        raise _refused("not a totals file: %(reason)s", reason=str(exc)) from None
    agency = _unit(unit_code)
    if agency is None:
        raise _refused("unknown unit %(unit)s: no active top-level agency has that code", unit=unit_code)
    key = db.session.get(TotalsUnitKey, agency.id)
    if key is None:
        raise _refused("no public key is registered for unit %(unit)s", unit=unit_code)
    if not signature:
        raise _refused("the signature file (FILE.parquet.sig) is missing")
    try:
        verify_totals(data, signature, key.public_key_pem.encode("ascii"))
    except AnalysisError as exc:
        # analysis's reason (not base64, altered, another key) is English: the log has it, the page says
        # what it means in the reader's language
        current_app.logger.info("totals import %s: signature refused: %s", file_name, exc)
        raise _refused("the signature does not verify with unit %(unit)s's key: the file was altered, or "
                       "signed with another key", unit=unit_code) from None
    try:
        return agency, read_totals(file_name, data)
    except DataError as exc:
        raise _refused("not a valid totals file: %(reason)s", reason=str(exc)) from None


def _check_questionnaire(q: dict) -> None:
    published = db.session.scalar(
        select(QuestionnaireVersion).join(QuestionnaireRow)
        .where(QuestionnaireRow.code == q["code"], QuestionnaireVersion.version == q["version"],
               QuestionnaireVersion.status == "published"))
    if published is None:
        raise _refused("questionnaire %(code)s version %(version)s is not published in this installation",
                       code=q["code"], version=q["version"])
    if definition_sha256(questionnaire_of(published).definition) != q["sha256"]:
        raise _refused("questionnaire %(code)s version %(version)s of the file differs from the one "
                       "published here (another definition)", code=q["code"], version=q["version"])


def _replaced(agency: Agency, code: str, period: dict) -> TotalsImport | None:
    """The unit's stored file of the same period, which the new one replaces; refused on an overlap."""
    older = None
    stored = select(TotalsImport).where(TotalsImport.agency_id == agency.id, TotalsImport.active,
                                        TotalsImport.questionnaire_code == code)
    for row in db.session.scalars(stored):
        if (row.period_from, row.period_to) == (period["from"], period["to"]):
            older = row
        elif _overlaps(row.period_from, row.period_to, period["from"], period["to"]):
            raise _refused("the period %(new_from)s to %(new_to)s overlaps unit %(unit)s's stored period "
                           "%(old_from)s to %(old_to)s", new_from=period["from"], new_to=period["to"],
                           unit=agency.code, old_from=row.period_from, old_to=row.period_to)
    return older


def import_totals(data: bytes, signature: bytes | None, file_name: str, actor: User | None) -> ImportOutcome:
    """Check and store one unit's signed totals file; on any refusal nothing is stored. The caller commits.

    Raises
    ------
    TotalsImportRefused
    """
    if not is_national():
        raise _refused("this installation is not a national one (INSTALLATION_LEVEL)")
    agency, totals = _signed_file(data, signature, file_name)
    q = totals.meta["questionnaire"]
    _check_questionnaire(q)
    period = totals.meta["period"]
    older = _replaced(agency, q["code"], period)
    stored = TotalsImport(
        agency_id=agency.id, questionnaire_code=q["code"], questionnaire_version=q["version"],
        questionnaire_sha256=q["sha256"], period_from=period["from"], period_to=period["to"],
        file_name=file_name[-255:], file_sha256=hashlib.sha256(data).hexdigest(), data=data,
        responses=int(totals.table["n"].sum()), created_at=str(totals.meta.get("created_at") or "")[:40],
        imported_by_id=actor.id if actor is not None else None, active=True)
    db.session.add(stored)
    db.session.flush()
    detail = {"questionnaire": f"{q['code']} v{q['version']}", "period": f"{period['from']}..{period['to']}",
              "sha256": stored.file_sha256, "responses": stored.responses, "import_id": stored.id}
    if older is not None:
        older.active = False
        older.replaced_by_id = stored.id
        record_event(actor, "totals.replace", agency.code, replaced_import_id=older.id,
                     replaced_sha256=older.file_sha256, **detail)
    else:
        record_event(actor, "totals.import", agency.code, **detail)
    db.session.flush()
    return ImportOutcome(stored=stored, replaced=older)


def active_imports() -> list[TotalsImport]:
    """The files the ranking reads: one per unit, questionnaire and period (their bytes loaded on use)."""
    from sqlalchemy.orm import defer, joinedload

    return list(db.session.scalars(select(TotalsImport).where(TotalsImport.active)
                                   .options(defer(TotalsImport.data), joinedload(TotalsImport.agency))
                                   .order_by(TotalsImport.period_from, TotalsImport.agency_id)))


def national_imports() -> list[TotalsImport]:
    """Every file received, newest first (replaced ones too), without loading their bytes."""
    from sqlalchemy.orm import defer, joinedload

    return list(db.session.scalars(select(TotalsImport).options(defer(TotalsImport.data),
                                                                joinedload(TotalsImport.agency))
                                   .order_by(TotalsImport.received_at.desc(), TotalsImport.id.desc())))


def unit_key_fingerprints() -> dict[int, str]:
    """Each unit's registered key as a short fingerprint (SHA-256 of the PEM, 16 hex digits), by agency id."""
    return {row.agency_id: hashlib.sha256(row.public_key_pem.encode()).hexdigest()[:16]
            for row in db.session.scalars(select(TotalsUnitKey))}
