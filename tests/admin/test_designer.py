"""Questionnaire designer: templates, drafts with every error listed, preview, publish, clone, files."""

from __future__ import annotations

import io

import yaml
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, QuestionnaireVersion
from tests.admin.conftest import login_as

TWO_ELEMENTS = """
code: ignored
version: 9
title: {vi: "Khảo sát thử", en: "Trial survey"}
languages: [vi, en]
scale:
  points: 5
  labels: {vi: ["1", "2", "3", "4", "5"], en: ["1", "2", "3", "4", "5"]}
  satisfied: [4, 5]
elements:
  - code: A
    title: {vi: "Tiếp cận", en: "Access"}
    weight: 2
    questions:
      - {code: A_1, type: likert, required: true, text: {vi: "Chỗ ngồi", en: "Seating"}}
  - code: B
    title: {vi: "Công chức", en: "Staff"}
    questions:
      - {code: B_1, type: likert, text: {vi: "Thái độ <b>lịch sự</b>", en: "Courtesy"}}
questions:
  - code: GENDER
    type: single
    text: {vi: "Giới tính", en: "Gender"}
    options:
      - {value: m, label: {vi: "Nam", en: "Male"}}
      - {value: f, label: {vi: "Nữ", en: "Female"}}
"""


def _draft(client, template="blank", code="trial"):
    response = client.post("/admin/questionnaires/new", data={"template": template, "code": code})
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(select(QuestionnaireVersion).order_by(QuestionnaireVersion.id.desc()))


def test_design_preview_publish_clone(client, tree):
    login_as(client, tree.users["designer"])
    draft = _draft(client)
    assert draft.status == "draft" and draft.version == 1
    url = f"/admin/questionnaires/versions/{draft.id}"
    broken = TWO_ELEMENTS.replace("type: likert, text", "type: stars, text").replace("satisfied: [4, 5]",
                                                                                      "satisfied: [6]")
    page = client.post(url, data={"text": broken}).get_data(as_text=True)
    assert 'id="errors"' in page and "B_1" in page and "satisfied" in page
    refused = client.post(f"{url}/publish?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "This draft cannot be published" in refused and "B_1" in refused
    client.post(url, data={"text": TWO_ELEMENTS})
    db.session.refresh(draft)
    assert draft.definition["code"] == "trial" and draft.definition["version"] == 1
    preview = client.get(f"{url}/preview?lang=vi").get_data(as_text=True)
    assert "Chỗ ngồi" in preview and "Thái độ &lt;b&gt;lịch sự&lt;/b&gt;" in preview
    assert client.post(f"{url}/publish").status_code == 302
    db.session.refresh(draft)
    assert draft.status == "published" and draft.published_at is not None
    assert client.post(url, data={"text": "code: x"}).status_code == 200
    db.session.refresh(draft)
    assert draft.definition["title"]["en"] == "Trial survey"  # unchanged: published is immutable
    client.post(f"{url}/clone")
    clone = db.session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.version == 2))
    assert clone.status == "draft" and clone.definition["version"] == 2
    assert client.post(f"{url}/clone").status_code == 302  # refused: a draft is already open
    assert db.session.query(QuestionnaireVersion).count() == 2
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"questionnaire.create", "questionnaire.publish", "questionnaire.clone"} <= actions


def test_standard_template_export_and_import(client, tree):
    login_as(client, tree.users["administrator"])
    draft = _draft(client, "sipas-2017.yaml", "sipas-mine")
    # 22 criteria; version 2 adds the yes/no FEEDBACK question that element 5 depends on (issue 17)
    questions = [q for e in draft.definition["elements"] for q in e["questions"]]
    assert len([q for q in questions if q["type"] == "likert"]) == 22
    exported = client.get(f"/admin/questionnaires/versions/{draft.id}/file")
    document = yaml.safe_load(exported.data)
    assert document["code"] == "sipas-mine" and "attachment" in exported.headers["Content-Disposition"]
    document["code"] = "imported"
    upload = {"file": (io.BytesIO(yaml.safe_dump(document, allow_unicode=True).encode()), "q.yaml")}
    assert client.post("/admin/questionnaires/import", data=upload,
                       content_type="multipart/form-data").status_code == 302
    imported = db.session.scalar(select(QuestionnaireVersion).order_by(QuestionnaireVersion.id.desc()))
    assert imported.questionnaire.code == "imported" and imported.status == "draft"
    bad = {"file": (io.BytesIO(b"code: [unclosed"), "bad.yaml")}
    page = client.post("/admin/questionnaires/import", data=bad, content_type="multipart/form-data",
                       follow_redirects=True).get_data(as_text=True)
    assert "not valid YAML" in page


def test_published_questionnaire_reaches_the_counter(client, tree):
    login_as(client, tree.users["administrator"])
    draft = _draft(client, code="trial")
    client.post(f"/admin/questionnaires/versions/{draft.id}", data={"text": TWO_ELEMENTS})
    client.post(f"/admin/questionnaires/versions/{draft.id}/publish")
    counter = tree.counter_in
    response = client.post(f"/admin/counters/{counter.id}", data={
        "code": counter.code, "agency_id": counter.agency_id, "name_vi": "Q", "name_en": "Q",
        "questionnaire_id": draft.questionnaire_id, "active": "y"})
    assert response.status_code == 302
    page = client.get(f"/s/{counter.qr_token}").get_data(as_text=True)
    assert "Chỗ ngồi" in page and "Khảo sát thử" in page
