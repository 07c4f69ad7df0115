"""The "ministry" agency level (issue 20, item 3): a national installation's units are provinces and
ministries. A ministry is created on the agency form, shown in words on the lists, has no parent, and
may have departments below it."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.extensions import db
from app.models import Agency
from tests.admin.conftest import login_as


def _row(page: str, code: str) -> str:
    start = page.index(f">{code}</a></td>")
    return page[start:page.index("</tr>", start)]


def test_admin_creates_a_ministry_shown_in_words(client, tree):
    login_as(client, tree.users["administrator"])
    form_vi = client.get("/admin/agencies/new?lang=vi").get_data(as_text=True)
    assert '<option value="ministry">Bộ, ngành</option>' in form_vi
    form_en = client.get("/admin/agencies/new?lang=en").get_data(as_text=True)
    assert '<option value="ministry">Ministry</option>' in form_en
    # The first choice stays a province, as before the ministry level existed.
    assert form_en.index('value="province"') < form_en.index('value="ministry"')

    response = client.post("/admin/agencies/new", data={
        "code": "BYT", "name_vi": "Bộ Y tế", "name_en": "Ministry of Health", "level": "ministry",
        "parent_id": 0, "active": "y"})
    assert response.status_code == 302
    ministry = db.session.scalar(select(Agency).where(Agency.code == "BYT"))
    assert (ministry.level, ministry.parent_id, ministry.name_en) == ("ministry", None, "Ministry of Health")

    # A department may sit below a ministry.
    assert client.post("/admin/agencies/new", data={
        "code": "BYT-QLD", "name_vi": "Cục Quản lý Dược", "name_en": "Drug Administration",
        "level": "department", "parent_id": ministry.id, "active": "y"}).status_code == 302
    department = db.session.scalar(select(Agency).where(Agency.code == "BYT-QLD"))
    assert department.parent_id == ministry.id

    listing_vi = client.get("/admin/agencies?lang=vi").get_data(as_text=True)
    assert "<td>Bộ, ngành</td>" in _row(listing_vi, "BYT")
    assert "<td>Tỉnh/Thành phố</td>" in _row(listing_vi, "P")
    assert "<td>BYT</td>" in _row(listing_vi, "BYT-QLD")
    listing_en = client.get("/admin/agencies?lang=en").get_data(as_text=True)
    assert "<td>Ministry</td>" in _row(listing_en, "BYT") and "<td>Province</td>" in _row(listing_en, "P")


def test_a_ministry_has_no_parent(client, tree):
    login_as(client, tree.users["administrator"])
    data = {"code": "BTC", "name_vi": "Bộ Tài chính", "name_en": "Ministry of Finance", "level": "ministry",
            "parent_id": tree.province.id, "active": "y"}
    refused_vi = client.post("/admin/agencies/new?lang=vi", data=data).get_data(as_text=True)
    assert "bộ, ngành là cơ quan cấp cao nhất: để trống cơ quan cấp trên" in refused_vi
    refused_en = client.post("/admin/agencies/new?lang=en", data=data).get_data(as_text=True)
    assert "a ministry is a top-level agency: leave its parent empty" in refused_en
    assert db.session.scalar(select(Agency).where(Agency.code == "BTC")) is None


def test_agency_import_knows_the_ministry_level(client, tree):
    login_as(client, tree.users["administrator"])
    bad = ("code,name_vi,name_en,level,parent\n"
           "BTC,Bộ Tài chính,Ministry of Finance,ministry,\n"
           "BTP,Bộ Tư pháp,Ministry of Justice,ministry,P\n")
    response = client.post("/admin/agencies/import?lang=vi",
                           data={"file": (io.BytesIO(bad.encode("utf-8")), "bo.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert ("dòng 3, cột parent: bộ, ngành là cơ quan cấp cao nhất: để trống cơ quan cấp trên"
            in response.get_data(as_text=True))
    assert db.session.scalar(select(Agency).where(Agency.code == "BTC")) is None  # all or nothing
    good = bad.replace("ministry,P\n", "ministry,\n") + "BTC-KB,Kho bạc,Treasury,department,BTC\n"
    ok = client.post("/admin/agencies/import?lang=vi",
                     data={"file": (io.BytesIO(good.encode("utf-8")), "bo.csv")},
                     content_type="multipart/form-data")
    assert ok.status_code == 200
    stored = {a.code: (a.level, a.parent.code if a.parent else None)
              for a in db.session.scalars(select(Agency).where(Agency.code.like("BT%")))}
    assert stored == {"BTC": ("ministry", None), "BTP": ("ministry", None), "BTC-KB": ("department", "BTC")}
