"""Fixtures for the citizen flow: a small organisation with counters on both SIPAS forms."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from app.extensions import db
from app.models import Agency, Service, ServicePoint
from app.services.questionnaires.versions import latest_published, load_standard_questionnaires

SHORT_ANSWERS = {"q-E1_1": "5", "q-E2_1": "4", "q-E3_1": "3", "q-E4_1": "2", "q-E5_1": "1",
                 "q-OVERALL": "4", "q-COMMENT": "Cán bộ nhiệt tình"}


def build_org() -> SimpleNamespace:
    """One agency, two services, and counters: full SIPAS, short form, none, revoked."""
    load_standard_questionnaires()
    full = latest_published("sipas-2017")
    short = latest_published("sipas-short")
    agency = Agency(code="T01", name_vi="Ủy ban nhân dân xã Thử", name_en="Thu Commune", level="commune")
    birth = Service(code="XA-KS", name_vi="Đăng ký khai sinh", name_en="Birth registration")
    marriage = Service(code="XA-KH", name_vi="Đăng ký kết hôn", name_en="Marriage registration")
    other = Service(code="XA-KT", name_vi="Đăng ký khai tử", name_en="Death registration")

    def counter(code, questionnaire_id, **extra):
        row = ServicePoint(code=code, agency=agency, name_vi=f"Quầy {code}", name_en=f"Counter {code}",
                           services=[birth, marriage], questionnaire_id=questionnaire_id, **extra)
        db.session.add(row)
        return row

    org = SimpleNamespace(
        agency=agency, birth=birth, marriage=marriage, other=other,
        full=counter("T01-Q1", full.questionnaire_id),
        short=counter("T01-Q2", short.questionnaire_id),
        empty=counter("T01-Q3", None),
        revoked=counter("T01-Q4", short.questionnaire_id, qr_token_revoked=True),
        full_version=full, short_version=short,
    )
    db.session.add_all([agency, other])
    db.session.commit()
    return org


@pytest.fixture
def org(app):
    """The small organisation over empty tables."""
    return build_org()


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a rendered survey form."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def open_form(client, url: str, **headers) -> dict[str, str]:
    """GET a survey page and return its hidden fields (version, nonce, CSRF token)."""
    page = client.get(url, headers=headers)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return hidden_fields(page.get_data(as_text=True))


def post_form(client, url: str, answers: dict | None = None, fields: dict | None = None, **kwargs):
    """Open the form at `url`, then post `answers` with its hidden fields."""
    fields = fields if fields is not None else open_form(client, url)
    data = {**fields, **(SHORT_ANSWERS if answers is None else answers)}
    return client.post(url, data=data, **kwargs)
