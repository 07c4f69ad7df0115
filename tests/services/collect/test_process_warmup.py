"""Warming gunicorn's arbiter before it forks: the citizen's statements built, no connection left."""

from __future__ import annotations

from app.extensions import db
from app.services.collect.warmup import warm_process
from app.services.questionnaires.versions import latest_published, load_standard_questionnaires
from app.services.reports import cells as report_cells


def test_warm_process_builds_every_published_version_and_closes_its_connections(app, monkeypatch):
    load_standard_questionnaires()
    db.session.commit()
    published = {latest_published(code).id for code in ("sipas-2017", "sipas-short")}
    postgres = db.engine.dialect.name == "postgresql"
    cache = {}
    monkeypatch.setattr(report_cells, "_INSERTING" if postgres else "_ONE", cache)
    db.session.remove()  # as in the arbiter: no connection held while it warms
    warmed = warm_process(app)
    assert warmed >= len(published) and warmed == len(cache)
    assert published <= {version_id for _, version_id, _zone in cache}
    assert db.engine.pool.checkedout() == 0
    assert "public/survey.html" in {name for _, name in app.jinja_env.cache.keys()}


def test_a_warmed_statement_is_the_one_a_post_would_build(app):
    load_standard_questionnaires()
    db.session.commit()
    version = latest_published("sipas-short")
    db.session.remove()
    warm_process(app)
    postgres = db.engine.dialect.name == "postgresql"
    cache = report_cells._INSERTING if postgres else report_cells._ONE
    build = report_cells._inserting_statement if postgres else report_cells._one_response_statement
    key = (db.engine.url.render_as_string(), version.id, report_cells.report_timezone())
    assert str(cache[key]) == str(build(version.id, report_cells._questionnaire(version.id)))
