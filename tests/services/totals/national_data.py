"""Three provinces' signed totals files (issue 20, item 3) and a national installation to import them into.

The files are written by the analysis functions from each province's responses (the responses of
tests/analysis/test_rollup.py), signed with each province's own Ed25519 key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from analysis.io import read_responses
from analysis.questionnaire import load_questionnaire
from analysis.spec import IndexSpec
from analysis.totals_file import sign_totals, table_from_responses, write_totals
from app.extensions import db
from app.models import Agency
from app.services.questionnaires import publish_questionnaire
from tests.analysis.conftest import RESULTS
from tests.analysis.test_rollup import _csv, _province

UNITS = ("P1", "P2", "P3")
QUESTIONNAIRE = RESULTS / "ref-survey.yaml"
NAMES = {"P1": ("Tỉnh Một", "Province One"), "P2": ("Tỉnh Hai", "Province Two"),
         "P3": ("Bộ Ba", "Ministry Three")}
LEVELS = {"P1": "province", "P2": "province", "P3": "ministry"}


def private_pem() -> bytes:
    """A new Ed25519 private key (PKCS#8 PEM)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def public_pem(private: bytes) -> bytes:
    """Its public key (SubjectPublicKeyInfo PEM), as `flask totals key` prints it."""
    key = serialization.load_pem_private_key(private, password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def totals_bytes(unit: str, folder: Path, period: tuple[str, str], seed: int,
                 definition: dict | None = None) -> bytes:
    """A province's totals file for a period, from its responses (seeded)."""
    questionnaire = load_questionnaire(QUESTIONNAIRE)
    spec = IndexSpec.from_questionnaire(questionnaire)
    frame = _province(np.random.default_rng(seed), unit, clustered=(unit != "P3"))
    csv_path = _csv(frame, folder / f"{unit}-{period[0]}.csv")
    columns = read_responses(csv_path, spec, by=["agency"])
    table = table_from_responses(columns, spec, by=["agency"])
    return write_totals(table, definition=definition or questionnaire.definition, unit=unit,
                        period_from=period[0], period_to=period[1], timezone="Asia/Ho_Chi_Minh")


@dataclass
class Signed:
    """A written file and its signature beside it."""

    path: Path
    data: bytes
    signature: bytes


def write_signed(unit: str, folder: Path, period: tuple[str, str], seed: int, private: bytes,
                 name: str | None = None, definition: dict | None = None) -> Signed:
    """Write FILE.parquet and FILE.parquet.sig."""
    data = totals_bytes(unit, folder, period, seed, definition)
    signature = sign_totals(data, private)
    path = folder / (name or f"{unit}-{period[0]}-{period[1]}.parquet")
    path.write_bytes(data)
    Path(f"{path}.sig").write_bytes(signature)
    return Signed(path, data, signature)


def national_installation(app) -> dict[str, bytes]:
    """The app made national: units P1, P2 (provinces), P3 (a ministry), ref-survey published; their keys."""
    app.config["INSTALLATION_LEVEL"] = "national"
    for code in UNITS:
        db.session.add(Agency(code=code, name_vi=NAMES[code][0], name_en=NAMES[code][1], level=LEVELS[code]))
    publish_questionnaire(load_questionnaire(QUESTIONNAIRE))
    db.session.commit()
    return {code: private_pem() for code in UNITS}


def altered_definition() -> dict:
    """ref-survey v1 with one word changed: the same code and version, another definition."""
    definition = json.loads(json.dumps(load_questionnaire(QUESTIONNAIRE).definition))
    definition["elements"][0]["title"]["en"] = "Access (changed)"
    return definition
