"""Cases fixtures: the small organisation of the citizen tests, on a short form whose version opens cases."""

from __future__ import annotations

import copy

import pytest
from flask import g

from analysis.questionnaire import parse_questionnaire
from app.extensions import db
from app.models import User
from app.services.questionnaires.versions import publish_questionnaire
from tests.admin.conftest import login_as, make_user
from tests.public.conftest import build_org

THRESHOLDS = {"overall_at_most": 2, "any_criterion_at_most": 1}


@pytest.fixture(autouse=True)
def _fresh_login_per_request(app):
    @app.before_request
    def _forget_cached_user():
        g.pop("_login_user", None)


@pytest.fixture
def org(app):
    """build_org, then a new version of the short form with `cases:` thresholds (the counters show it)."""
    org = build_org()
    definition = copy.deepcopy(org.short_version.definition)
    definition["version"] = org.short_version.version + 1
    definition["cases"] = dict(THRESHOLDS)
    version, _ = publish_questionnaire(parse_questionnaire(definition, source="test"))
    db.session.commit()
    org.cases_version = version
    org.handler = make_user("handler@example.org", "handler", org.agency)
    org.admin = make_user("admin@example.org", "administrator")
    db.session.commit()
    return org


@pytest.fixture
def login(client):
    def _login(user: User):
        login_as(client, user)
        return client
    return _login
