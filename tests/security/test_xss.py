"""Markup typed into an agency name, a counter name, a comment or a questionnaire is shown as text
everywhere: the citizen pages, the kiosk, the admin lists, the QR posters, the reports, the exports."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import Agency, Response, ServicePoint
from app.services.questionnaires.versions import publish_questionnaire, validate_file
from tests.admin.conftest import login_as, make_user

ROOT = Path(__file__).resolve().parents[2]
# Each starts like a spreadsheet formula, then tries to break out of text, attributes and scripts.
AGENCY = '=HYPERLINK("http://evil.example","a")<script>alert("agency")</script>'
COUNTER = '"><img src=x onerror=alert("counter")>'
COMMENT = '=cmd|" /C calc"!A0 </script><script>alert("comment")</script>'
QUESTION = '<script>alert("question")</script><b onmouseover=alert(1)>'
RAW = ("<script>alert(", "<img src=x", "<b onmouseover")


@pytest.fixture
def poisoned(demo, tmp_path):
    """The demo province with markup in one agency, one of its counters, a comment and a questionnaire."""
    rated = (select(ServicePoint).join(Response, Response.service_point_id == ServicePoint.id)
             .where(ServicePoint.questionnaire_id.is_not(None)))
    counter = db.session.scalars(rated).first()
    agency = db.session.get(Agency, counter.agency_id)
    agency.name_vi = agency.name_en = AGENCY
    counter.name_vi = counter.name_en = COUNTER
    # The newest response: the comments page lists 50 a page, newest first.
    response = db.session.scalars(select(Response).where(Response.agency_id == agency.id)
                                  .order_by(Response.submitted_at.desc(), Response.id.desc())).first()
    response.answers = {**(response.answers or {}), "COMMENT": COMMENT}
    definition = yaml.safe_load((ROOT / "surveys/sipas-short.yaml").read_text())
    definition["code"] = "xss-short"
    definition["title"] = {"vi": QUESTION, "en": QUESTION}
    definition["elements"][0]["title"] = {"vi": QUESTION, "en": QUESTION}
    definition["elements"][0]["questions"][0]["text"] = {"vi": QUESTION, "en": QUESTION}
    path = tmp_path / "xss-short.yaml"
    path.write_text(yaml.safe_dump(definition, allow_unicode=True))
    version, _ = publish_questionnaire(validate_file(path))
    other = ServicePoint(code="XSS-Q9", agency_id=agency.id, name_vi=COUNTER, name_en=COUNTER,
                         questionnaire_id=version.questionnaire_id)
    db.session.add(other)
    make_user("xss-admin@example.org", "administrator")
    db.session.commit()
    return agency, counter, other


def _pages(agency, counter, other) -> list[str]:
    return [
        "/", "/?lang=en", f"/s/{counter.qr_token}", f"/k/{counter.qr_token}", f"/s/{other.qr_token}",
        f"/s/{other.qr_token}?lang=en", "/admin/agencies", "/admin/counters", "/admin/responses",
        f"/admin/counters/{counter.id}/edit", f"/admin/agencies/{agency.id}/edit",
        f"/admin/counters/{counter.id}/poster", f"/admin/agencies/{agency.id}/posters",
        "/admin/questionnaires", "/reports/", "/reports/overview", "/reports/ranking", "/reports/comments",
        f"/reports/agencies/{agency.id}", "/reports/detail", "/reports/print",
        f"/reports/comments?agency={agency.id}",
    ]


def test_markup_is_shown_escaped_on_every_page(client, poisoned):
    from app.models import User

    login_as(client, db.session.scalar(select(User).where(User.email == "xss-admin@example.org")))
    shown: set[str] = set()
    for path in _pages(*poisoned):
        response = client.get(path)
        assert response.status_code < 500, path
        body = response.get_data(as_text=True)
        for raw in RAW:
            assert raw not in body, (path, raw)
        shown |= {name for name in ("agency", "counter", "question", "comment")
                  if f"alert(&#34;{name}&#34;)" in body}
    # Not vacuous: each text did appear, escaped, somewhere.
    assert shown >= {"agency", "counter", "question"}, shown


def test_comment_is_escaped_where_comments_are_read(client, poisoned):
    from app.models import User

    login_as(client, db.session.scalar(select(User).where(User.email == "xss-admin@example.org")))
    agency = poisoned[0]
    bodies = [client.get(p).get_data(as_text=True)
              for p in ("/reports/comments", f"/reports/comments?agency={agency.id}", "/admin/responses")]
    assert any("&lt;script&gt;alert(&#34;comment&#34;)" in body for body in bodies)
    assert not any("<script>alert(" in body for body in bodies)


def test_excel_export_quotes_formulas(client, poisoned):
    from app.models import User

    login_as(client, db.session.scalar(select(User).where(User.email == "xss-admin@example.org")))
    response = client.get("/reports/export/indices.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    cells = [c.value for sheet in book for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(AGENCY in value for value in cells), "the agency's name is in the workbook, as text"
    assert not [v for v in cells if v.startswith(("=", "+", "@"))]
    for sheet in book:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)


def test_indices_csv_export_quotes_formulas(client, poisoned):
    from app.models import User

    login_as(client, db.session.scalar(select(User).where(User.email == "xss-admin@example.org")))
    text = client.get("/reports/export/indices.csv").get_data(as_text=True).lstrip("\ufeff")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert any(AGENCY in cell for cell in cells)
    assert not [c for c in cells if c.startswith(("=", "+", "@"))]


def test_responses_csv_export_quotes_formulas(client, poisoned):
    from app.models import User

    login_as(client, db.session.scalar(select(User).where(User.email == "xss-admin@example.org")))
    agency = poisoned[0]
    text = client.get(f"/reports/export/responses.csv?agency={agency.id}&period=all").get_data(as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]
    assert any("alert(\"comment\")" in cell for cell in cells), "the comment is exported"
    assert not [c for c in cells if c.startswith(("=", "+", "@"))]
