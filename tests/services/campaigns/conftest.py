"""Campaign fixtures: an agency tree, a published questionnaire and dossiers completed in a period."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from flask import g
from flask_babel import force_locale

from app.extensions import db
from app.models import Agency, Dossier, QuestionnaireVersion, User, slot_column
from app.services.campaigns import CampaignSettings, create_campaign
from app.services.questionnaires.versions import (
    SURVEYS_DIR,
    publish_questionnaire,
    questionnaire_of,
    rating_slots,
    validate_file,
)
from app.services.reports import cells as report_cells
from tests.admin.conftest import make_agency, make_user

PERIOD = (date(2026, 1, 1), date(2026, 3, 31))
# Dossiers completed in the period per agency: H1 (a district), X1 (a commune under it), H2.
SIZES = {"H1": 120, "H2": 60, "X1": 40}


@pytest.fixture(autouse=True)
def _fresh_login_per_request(app, request):
    @app.before_request
    def _forget_cached_user():
        g.pop("_login_user", None)

    if "client" in request.fixturenames:  # pages choose their language with ?lang=
        yield
        return
    # Outside a request (as on the command line) messages are in English.
    with force_locale("en"):
        yield


@dataclass
class World:
    """The province, its agencies by code, the questionnaire version, an administrator and a leader."""

    province: Agency
    agencies: dict[str, Agency]
    version: QuestionnaireVersion
    admin: User
    leader: User


def add_dossiers(agency: Agency, n: int, start: int = 0, group_every: int = 3,
                 completed: date = date(2026, 2, 10)) -> list[Dossier]:
    """n dossiers of an agency completed on a day, every third one of the 'land' group."""
    rows = [Dossier(code=f"{agency.code}-{start + i:04d}", agency_id=agency.id, procedure="Cấp giấy phép",
                    procedure_group="land" if i % group_every == 0 else "civil", received_on=date(2025, 1, 2),
                    completed_on=completed, apologies=0) for i in range(n)]
    db.session.add_all(rows)
    db.session.flush()
    return rows


@pytest.fixture
def world(app) -> World:
    """The tree P > H1 > X1, P > H2, another province Q > K1; dossiers in and out of the period."""
    province = make_agency("P", "province")
    h1 = make_agency("H1", "district", province)
    h2 = make_agency("H2", "district", province)
    x1 = make_agency("X1", "commune", h1)
    other = make_agency("Q", "province")
    k1 = make_agency("K1", "district", other)
    agencies = {a.code: a for a in (province, h1, h2, x1, other, k1)}
    for code, n in SIZES.items():
        add_dossiers(agencies[code], n)
    add_dossiers(h1, 15, start=500, completed=date(2025, 12, 31))  # before the period
    add_dossiers(k1, 30)  # another province
    version, _ = publish_questionnaire(validate_file(SURVEYS_DIR / "sipas-short.yaml"))
    admin = make_user("admin@example.org", "administrator")
    leader = make_user("leader@example.org", "leader", province)
    db.session.commit()
    return World(province, agencies, version, admin, leader)


def settings(world: World, code: str = "C2026", **changes) -> CampaignSettings:
    """Campaign settings over the province and the period (±10 points, half answer)."""
    values = dict(code=code, name="Khảo sát quý 1", version_id=world.version.id, agency_id=world.province.id,
                  period_start=PERIOD[0], period_end=PERIOD[1], target_half_width=0.10,
                  expected_response_rate=0.5)
    values.update(changes)
    return CampaignSettings(**values)


def new_campaign(world: World, code: str = "C2026", **changes):
    """A created campaign (committed)."""
    campaign = create_campaign(settings(world, code, **changes), world.admin)
    db.session.commit()
    return campaign


def answer(world: World, agency: Agency, rating: int | None, *, campaign_id: int | None = None,
           when: datetime = datetime(2026, 2, 15, 3, 0, tzinfo=UTC), channel: str = "qr") -> int:
    """Store a response rating every criterion `rating`, counted in the report cells as the writers do."""
    questionnaire = questionnaire_of(world.version)
    row = {name: None for name in report_cells._INSERTED}
    row.update(uid=uuid.uuid4().hex, version_id=world.version.id, agency_id=agency.id, channel=channel,
               submitted_at=when, received_at=when, verified=False, assisted=False, suspicious=False,
               answers={}, campaign_id=campaign_id)
    for slot in rating_slots(questionnaire).values():
        row[slot_column(slot)] = rating
    return report_cells.insert_counted(world.version.id, row, questionnaire)
