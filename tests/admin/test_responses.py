"""Responses from the browser: CSV import (same report as the CLI, scope-limited) and paper entry."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Response
from app.services.questionnaires.versions import SURVEYS_DIR, publish_questionnaire, validate_file
from tests.admin.conftest import login_as


def _publish_short(tree):
    version, _ = publish_questionnaire(validate_file(SURVEYS_DIR / "sipas-short.yaml"))
    for counter in (tree.counter_in, tree.counter_out):
        counter.questionnaire_id = version.questionnaire_id
    db.session.commit()
    return version


def _upload(client, text):
    return client.post("/admin/responses/import", data={"file": (io.BytesIO(text.encode()), "r.csv")},
                       content_type="multipart/form-data")


def _count():
    return db.session.scalar(select(func.count()).select_from(Response))


def test_csv_import_reports_rows_and_columns_and_stores_all_or_nothing(client, tree):
    _publish_short(tree)
    login_as(client, tree.users["administrator"])
    bad = "response_id,survey,agency,E1_1,E2_1\nr1,sipas-short,X1,5,4\nr2,sipas-short,X1,9,\n"
    response = _upload(client, bad)
    assert response.status_code == 422
    assert "r.csv: dòng 3, cột E1_1" in response.get_data(as_text=True)
    assert _count() == 0
    good = "response_id,survey,agency,E1_1,E2_1\nr1,sipas-short,X1,5,4\nr2,sipas-short,D1,3,\n"
    assert _upload(client, good).status_code == 200
    assert _count() == 2
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "responses.import"))


def test_manager_cannot_import_rows_outside_the_subtree(client, tree):
    _publish_short(tree)
    login_as(client, tree.users["manager"])
    text = "response_id,survey,agency,E1_1\nr1,sipas-short,X1,5\nr2,sipas-short,D1,3\n"
    response = _upload(client, text)
    assert response.status_code == 422
    assert "dòng 3, cột agency: &#39;D1&#39; nằm ngoài các cơ quan" in response.get_data(as_text=True)
    assert _count() == 0


def test_paper_entry_stores_channel_paper_once_and_reports_bad_cells(client, tree):
    version = _publish_short(tree)
    login_as(client, tree.users["manager"])
    page = client.get(f"/admin/responses/paper?counter_id={tree.counter_in.id}").get_data(as_text=True)
    assert 'name="E1_1"' in page and "autofocus" in page
    form = {"counter_id": tree.counter_in.id, "nonce": "n" * 22, "E1_1": "5", "E2_1": "7", "OVERALL": "4"}
    bad = client.post("/admin/responses/paper?lang=en", data=form)
    assert bad.status_code == 200 and "not an allowed value" in bad.get_data(as_text=True)
    missing = client.post("/admin/responses/paper?lang=en", data={**form, "E2_1": "4", "OVERALL": ""})
    assert "required" in missing.get_data(as_text=True)
    assert _count() == 0
    form["E2_1"] = "4"
    assert client.post("/admin/responses/paper?lang=en", data=form).status_code == 302
    assert client.post("/admin/responses/paper?lang=en", data=form).status_code == 302  # a double Enter
    stored = db.session.scalars(select(Response)).all()
    assert len(stored) == 1
    assert stored[0].channel == "paper" and stored[0].version_id == version.id
    assert stored[0].service_point_id == tree.counter_in.id
    assert client.get(f"/admin/responses/paper?counter_id={tree.counter_out.id}").status_code == 403
