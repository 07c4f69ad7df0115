"""Dossier lists in the browser: the import page and its report, who sees contacts, the volumes grid."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import Dossier, DossierContact, DossierVolume
from tests.admin.conftest import login_as

HEADER = ("dossier_code,agency,counter,procedure,received,completed,due,apologies,contact_channel,"
          "contact_address\n")
GOOD = HEADER + ("HS-1,X1,X1-Q1,Chứng thực,2025-06-01,2025-06-03,2025-06-05,0,email,holder@example.org\n"
                 "HS-2,X1,,Chứng thực,2025-06-01,2025-06-09,2025-06-05,1,sms,0900000002\n")


def _upload(client, data: bytes, name: str = "list.csv", lang: str = "vi"):
    return client.post(f"/admin/dossiers/import?lang={lang}", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_import_page_reports_every_error_in_the_readers_language_and_stores_nothing(client, tree):
    login_as(client, tree.users["administrator"])
    page = client.get("/admin/dossiers/import?lang=vi").get_data(as_text=True)
    assert "Nhập danh sách hồ sơ" in page and "dossier_code, agency, counter" in page
    bad = HEADER + ("HS-1,NOPE,,p,2025-06-01,,,,,\n"
                    "HS-1,X1,,p,2025-06-05,2025-06-01,,,,\n")
    response = _upload(client, bad.encode())
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    for expected in ("list.csv: dòng 2, cột agency: không có cơ quan &#39;NOPE&#39;",
                     "list.csv: dòng 3, cột dossier_code: mã hồ sơ &#39;HS-1&#39; xuất hiện hai lần "
                     "trong tệp (lần đầu ở dòng 2)",
                     "list.csv: dòng 3, cột completed: hoàn thành ngày 2025-06-01, trước ngày tiếp nhận "
                     "(2025-06-05)"):
        assert expected in text, text
    english = _upload(client, bad.encode(), lang="en").get_data(as_text=True)
    assert "list.csv: row 3, column completed: completed on 2025-06-01, before it was received" in english
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 0


def test_csv_and_xlsx_uploads_store_and_update(client, tree):
    login_as(client, tree.users["administrator"])
    response = _upload(client, GOOD.encode(), lang="en")
    assert response.status_code == 200 and "Imported: 2 row(s) stored." in response.get_data(as_text=True)
    book = Workbook()
    book.active.append(["Mã hồ sơ", "Cơ quan", "Thủ tục", "Ngày tiếp nhận", "Ngày hoàn thành"])
    book.active.append(["HS-2", "X1", "Chứng thực", date(2025, 6, 1), date(2025, 7, 2)])
    stream = io.BytesIO()
    book.save(stream)
    assert _upload(client, stream.getvalue(), "list.xlsx").status_code == 200
    rows = dict(db.session.execute(select(Dossier.code, Dossier.completed_on)).all())
    assert rows == {"HS-1": date(2025, 6, 3), "HS-2": date(2025, 7, 2)}
    volumes = dict(db.session.execute(select(DossierVolume.month, DossierVolume.dossiers)).all())
    assert volumes == {date(2025, 6, 1): 1, date(2025, 7, 1): 1}


def test_contacts_are_shown_to_administrators_only(client, tree):
    login_as(client, tree.users["administrator"])
    assert _upload(client, GOOD.encode()).status_code == 200
    admin_page = client.get("/admin/dossiers?lang=en").get_data(as_text=True)
    assert "holder@example.org" in admin_page and "sms: 0900000002" in admin_page
    assert "2 dossier(s) in your agencies, 2 with a contact." in admin_page
    login_as(client, tree.users["manager"])  # the district's manager: X1 is inside
    page = client.get("/admin/dossiers?lang=en").get_data(as_text=True)
    assert "HS-1" in page and "HS-2" in page
    assert "holder@example.org" not in page and "0900000002" not in page and ">Contact<" not in page
    assert "only survey administrators see them" in page
    # A manager may import for their agencies; the contacts stay stored (and hidden from them).
    again = GOOD.replace("holder@", "new.holder@")
    assert _upload(client, again.encode()).status_code == 200
    assert db.session.scalar(select(DossierContact.address).join(Dossier).where(Dossier.code == "HS-1")) \
        == "new.holder@example.org"
    assert "new.holder" not in client.get("/admin/dossiers").get_data(as_text=True)
    login_as(client, tree.users["leader"])
    assert client.get("/admin/dossiers").status_code == 403
    assert _upload(client, GOOD.encode()).status_code == 403


def test_months_from_the_list_cannot_be_typed_in_the_grid_or_imported(client, tree):
    login_as(client, tree.users["administrator"])
    assert _upload(client, GOOD.encode()).status_code == 200
    url = f"/admin/volumes/grid?agency={tree.commune.id}&year=2025&lang=en"
    page = client.get(url).get_data(as_text=True)
    assert 'id="v-a-6" name="v-a-6" value="2"' in page and "readonly" in page and "from-list-note" in page
    refused = client.post(url, data={"v-a-6": "500", "v-a-5": "40"})
    assert refused.status_code == 422
    assert "this month&#39;s figure comes from the dossier list" in refused.get_data(as_text=True)
    volumes = dict(db.session.execute(select(DossierVolume.month, DossierVolume.dossiers)
                                      .where(DossierVolume.agency_id == tree.commune.id)).all())
    assert volumes == {date(2025, 5, 1): 40, date(2025, 6, 1): 2}
    csv_text = "agency,month,dossiers\nX1,2025-06,999\n"
    response = client.post("/admin/volumes/import?lang=en",
                           data={"file": (io.BytesIO(csv_text.encode()), "v.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "row 2, column month: this month&#39;s figure comes from the dossier list" in \
        response.get_data(as_text=True)
