"""Dossier lists: CSV and XLSX imports, re-imports that update, every bad input refused whole."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Dossier, DossierContact, DossierVolume
from app.services.dossiers import import_dossiers
from tests.admin.conftest import make_user
from tests.services.dossiers.conftest import dossier_csv

GOOD = (
    "HS-1,X1,X1-Q1,LAND,Cấp giấy chứng nhận,land,2025-06-02,2025-06-20,2025-06-25,,0,email,a@example.org,An",
    "HS-2,X1,,,Cấp giấy chứng nhận,land,2025-06-03,2025-07-01,2025-06-28,,2,sms,090 000 0002,",
    "HS-3,D1,,,Đăng ký kinh doanh,,2025-06-05,2025-06-06,,1,0,,,",
    "HS-4,X1,,,Cấp giấy chứng nhận,land,2025-06-10,,2025-07-10,,0,post,\"1 Lê Lợi, Huế\",Bình",
)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _volumes() -> dict[tuple[str, str], int]:
    rows = db.session.execute(select(DossierVolume.agency_id, DossierVolume.month, DossierVolume.dossiers)
                              .where(DossierVolume.service_point_id.is_(None))).all()
    return {(agency, month.strftime("%Y-%m")): n for agency, month, n in rows}


def test_csv_import_stores_dossiers_contacts_apart_and_volumes(org):
    report = import_dossiers(dossier_csv(*GOOD), "list.csv", None)
    assert report.ok and report.stored == 4 and report.rows == 4, report.errors
    db.session.commit()
    first = db.session.scalar(select(Dossier).where(Dossier.code == "HS-1"))
    assert (first.agency_id, first.service_point_id, first.service_id) == (org.commune.id, org.counter.id,
                                                                           org.service.id)
    assert (first.received_on, first.completed_on, first.due_on) == (date(2025, 6, 2), date(2025, 6, 20),
                                                                     date(2025, 6, 25))
    # No flag in the file: on time follows completed <= due (HS-1 yes, HS-2 no); HS-3's flag is kept.
    flags = dict(db.session.execute(select(Dossier.code, Dossier.on_time)).all())
    assert flags == {"HS-1": True, "HS-2": False, "HS-3": True, "HS-4": None}
    contacts = {d: (c, a, n) for d, c, a, n in db.session.execute(
        select(Dossier.code, DossierContact.channel, DossierContact.address, DossierContact.name)
        .join(DossierContact))}
    assert contacts == {"HS-1": ("email", "a@example.org", "An"), "HS-2": ("sms", "0900000002", None),
                        "HS-4": ("post", "1 Lê Lợi, Huế", "Bình")}
    # Completed dossiers give the agencies' own volumes, month by month (HS-4 is not completed).
    assert _volumes() == {(org.commune.id, "2025-06"): 1, (org.commune.id, "2025-07"): 1,
                          (org.department.id, "2025-06"): 1}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "dossiers.import"))
    assert event.target == "list.csv" and event.detail == {"rows": 4, "contacts": 3}


def test_reimport_updates_and_never_duplicates(org):
    assert import_dossiers(dossier_csv(*GOOD), "list.csv", None).ok
    db.session.commit()
    changed = ("HS-2,X1,,,Cấp giấy chứng nhận,land,2025-06-03,2025-06-27,2025-06-28,,0,,,",
               "HS-4,X1,,,Cấp giấy chứng nhận,land,2025-06-10,2025-07-02,2025-07-10,,0,,,",
               "HS-5,H1,,,Hộ tịch,civil,2025-07-01,2025-07-01,2025-07-01,,0,phone,+84 90 000 0005,")
    report = import_dossiers(dossier_csv(*changed), "again.csv", None)
    assert report.ok and report.stored == 3, report.errors
    db.session.commit()
    assert _count(Dossier) == 5
    second = db.session.scalar(select(Dossier).where(Dossier.code == "HS-2"))
    assert (second.completed_on, second.on_time, second.apologies) == (date(2025, 6, 27), True, 0)
    # A row without contact columns leaves the stored contact alone.
    assert second.contact.address == "0900000002"
    assert _count(DossierContact) == 4
    # HS-2 moved from July to June and HS-4 was completed in July: the volumes follow.
    assert _volumes() == {(org.commune.id, "2025-06"): 2, (org.commune.id, "2025-07"): 1,
                          (org.department.id, "2025-06"): 1, (org.district.id, "2025-07"): 1}


def test_xlsx_with_vietnamese_headers_and_date_cells(org):
    book = Workbook()
    sheet = book.active
    sheet.append(["Mã hồ sơ", "Cơ quan", "Thủ tục", "Ngày tiếp nhận", "Ngày hoàn thành", "Hạn xử lý",
                  "Đúng hạn", "Số thư xin lỗi", "Kênh liên hệ", "Địa chỉ liên hệ"])
    sheet.append(["HS-X1", "X1", "Chứng thực", datetime(2025, 5, 30), datetime(2025, 6, 1), date(2025, 6, 3),
                  "có", 0, "email", "b@example.org"])
    sheet.append(["HS-X2", "X1", "Chứng thực", "2025-05-30", "2025-06-30", "2025-06-03", "không", 1, None,
                  None])
    sheet.append([12345, "D1", "Chứng thực", datetime(2025, 6, 1), None, None, None, None, None, None])
    stream = io.BytesIO()
    book.save(stream)
    report = import_dossiers(stream.getvalue(), "danh-sach.xlsx", None)
    assert report.ok and report.stored == 3, report.errors
    db.session.commit()
    rows = {code: (received, completed, on_time, apologies) for code, received, completed, on_time, apologies
            in db.session.execute(select(Dossier.code, Dossier.received_on, Dossier.completed_on,
                                         Dossier.on_time, Dossier.apologies))}
    assert rows == {"HS-X1": (date(2025, 5, 30), date(2025, 6, 1), True, 0),
                    "HS-X2": (date(2025, 5, 30), date(2025, 6, 30), False, 1),
                    "12345": (date(2025, 6, 1), None, None, 0)}
    assert _volumes() == {(org.commune.id, "2025-06"): 2}


@pytest.mark.parametrize("rows, expected", [
    (("HS-1,NOPE,,,p,,2025-06-01,2025-06-02,,,,,,",),
     "list.csv: row 3, column agency: unknown agency 'NOPE'"),
    (("HS-1,X1,,,p,,2025-06-01,2025-06-02,,,,,,", "HS-2,X1,,,p,,2025-06-01,,,,,,,",
      "HS-1,D1,,,p,,2025-06-01,,,,,,,"),
     "list.csv: row 5, column dossier_code: dossier code 'HS-1' appears twice in the file (first in row 3)"),
    (("HS-1,X1,,,p,,2025-06-05,2025-06-02,,,,,,",),
     "list.csv: row 3, column completed: completed on 2025-06-02, before it was received (2025-06-05)"),
    (("HS-1,X1,,,,,2025-06-05,,,,,,,",), "list.csv: row 3, column procedure: required"),
    (("HS-1,X1,,,p,,05/06/2025,,,,,,,",), "list.csv: row 3, column received: write dates as YYYY-MM-DD"),
    (("HS-1,X1,D1-Q9,,p,,2025-06-05,,,,,,,",), "row 3, column counter: unknown service point 'D1-Q9'"),
    (("HS-1,X1,,,p,,2025-06-05,,,maybe,,,,",), "row 3, column on_time: expected 1 or 0"),
    (("HS-1,X1,,,p,,2025-06-05,,,,-1,,,",), "row 3, column apologies: expected a whole number"),
    (("HS-1,X1,,,p,,2025-06-05,,,,,email,not-an-address,",), "row 3, column contact_address: not an e-mail"),
    (("HS-1,X1,,,p,,2025-06-05,,,,,fax,123,",), "row 3, column contact_channel: expected one of email, sms"),
])
def test_each_bad_input_is_named_and_nothing_is_stored(org, rows, expected):
    good = "HS-OK,X1,,,p,,2025-06-01,2025-06-02,,,,email,ok@example.org,"
    report = import_dossiers(dossier_csv(good, *rows), "list.csv", None)
    assert not report.ok
    assert any(expected in str(error) for error in report.errors), report.errors
    db.session.rollback()
    assert (_count(Dossier), _count(DossierContact), _count(DossierVolume)) == (0, 0, 0)


def test_bad_files_are_refused_whole(org):
    def errors(data, name="list.csv"):
        report = import_dossiers(data, name, None)
        assert not report.ok
        return [str(e) for e in report.errors]

    assert errors(b"dossier_code,agency\nHS-1,X1\n") == [
        "list.csv: row 1, column procedure: required column is missing",
        "list.csv: row 1, column received: required column is missing"]
    assert "unknown column" in errors(dossier_csv().replace(b"apologies", b"sorry"))[0]
    assert errors("dossier_code\n\xff".encode("latin-1")) == ["list.csv: the file is not UTF-8 text"]
    assert "control character" in errors(dossier_csv("HS-1,X1,,,p\x00,,2025-06-01,,,,,,,"))[0]
    assert errors(dossier_csv()) == ["list.csv: the file holds no dossier"]
    book = Workbook()
    book.active.append(["dossier_code", "agency", "procedure", "received"])
    book.active.append(["HS-1", "X1", "p", "=TODAY()"])
    stream = io.BytesIO()
    book.save(stream)
    assert errors(stream.getvalue(), "f.xlsx") == [
        "f.xlsx: row 2, column D: a formula (only plain values are read)"]
    macro = io.BytesIO()
    with zipfile.ZipFile(macro, "w") as archive:
        archive.writestr("xl/vbaProject.bin", b"x")
    assert errors(macro.getvalue(), "m.xlsm") == [
        "m.xlsm: the workbook holds macros; save it as a plain .xlsx"]
    assert errors(b"PK\x03\x04 not really a zip", "z.xlsx") == ["z.xlsx: not an .xlsx workbook"]
    assert (_count(Dossier), _count(DossierVolume)) == (0, 0)


def test_a_manager_imports_inside_their_agencies_only(org):
    manager = make_user("m@example.org", "manager", org.district)
    assert import_dossiers(dossier_csv("HS-D,D1,,,p,,2025-06-01,,,,,,,"), "d.csv", None).ok
    db.session.commit()
    report = import_dossiers(dossier_csv("HS-1,X1,,,p,,2025-06-01,,,,,,,", "HS-2,D1,,,p,,2025-06-01,,,,,,,",
                                         "HS-D,X1,,,p,,2025-06-01,,,,,,,"), "m.csv", manager)
    assert [str(e) for e in report.errors] == [
        "m.csv: row 3, column agency: 'D1' is outside your agencies",
        "m.csv: row 4, column dossier_code: dossier 'HS-D' is stored for an agency outside yours"]
    db.session.rollback()
    assert db.session.scalars(select(Dossier.code)).all() == ["HS-D"]


def test_every_column_is_documented_in_formats():
    from pathlib import Path

    from app.services.dossiers import COLUMNS

    text = (Path(__file__).resolve().parents[3] / "docs/FORMATS.md").read_text(encoding="utf-8")
    section = text[text.index("## 8. Dossier lists"):]
    assert [column for column in COLUMNS if f"| `{column}` |" not in section] == []
