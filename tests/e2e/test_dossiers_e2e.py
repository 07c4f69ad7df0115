"""A survey administrator in headless Chromium on a 360-px phone: uploads a dossier list with errors,
reads the import report (row and column, in Vietnamese and English), then a clean one, and sees the
dossiers with their contacts. Screenshots in test-artifacts/."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Dossier
from tests.admin.conftest import make_agency, make_counter, make_user
from tests.e2e.conftest import assert_no_sideways_scroll, signed_in_phone

HEADER = ("Mã hồ sơ,Cơ quan,Quầy,Thủ tục,Ngày tiếp nhận,Ngày hoàn thành,Hạn xử lý,Kênh liên hệ,"
          "Địa chỉ liên hệ\n")
BAD = HEADER + ("HS-1,NOPE,,Cấp giấy chứng nhận quyền sử dụng đất,2025-06-01,2025-06-20,2025-06-25,,\n"
                "HS-1,X1,,Chứng thực bản sao,2025-06-05,2025-06-02,,email,not-an-address\n")
GOOD = HEADER + ("HS-1,X1,X1-Q1,Cấp giấy chứng nhận quyền sử dụng đất,2025-06-01,2025-06-20,2025-06-25,"
                 "email,nguyen.van.a@example.org\n"
                 "HS-2,X1,,Chứng thực bản sao,2025-06-05,2025-06-12,2025-06-06,sms,0900000002\n")




def test_upload_a_dossier_list_and_read_the_report(app, browser, live_server, artifacts, tmp_path):
    commune = make_agency("X1", "commune")
    make_counter("X1-Q1", commune)
    make_user("root@example.org", "administrator")
    db.session.commit()
    bad, good = tmp_path / "ho-so-loi.csv", tmp_path / "ho-so.csv"
    bad.write_text(BAD, encoding="utf-8")
    good.write_text(GOOD, encoding="utf-8")
    expected = {
        "vi": ["ho-so-loi.csv: dòng 2, cột Cơ quan: không có cơ quan 'NOPE'",
               "ho-so-loi.csv: dòng 3, cột Ngày hoàn thành: hoàn thành ngày 2025-06-02, trước ngày tiếp nhận "
               "(2025-06-05)",
               "dòng 3, cột Mã hồ sơ: mã hồ sơ 'HS-1' xuất hiện hai lần trong tệp (lần đầu ở dòng 2)"],
        "en": ["ho-so-loi.csv: row 2, column Cơ quan: unknown agency 'NOPE'",
               "row 3, column Địa chỉ liên hệ: not an e-mail address: 'not-an-address'"],
    }
    for lang, stored_before in (("vi", 0), ("en", 2)):
        context, page = signed_in_phone(browser, live_server, lang)
        page.goto(f"{live_server}/admin/dossiers?lang={lang}")
        page.click("#dossiers-import")
        page.set_input_files("input[type=file]", str(bad))
        page.click("form[enctype='multipart/form-data'] button[type=submit]")
        errors = page.locator("#errors").inner_text()
        for text in expected[lang]:
            assert text in errors, (lang, text, errors)
        assert_no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"dossiers-import-errors-{lang}-360.png", full_page=True)
        assert db.session.scalar(select(func.count()).select_from(Dossier)) == stored_before
        page.goto(f"{live_server}/admin/dossiers/import?lang={lang}")
        assert_no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"dossiers-import-form-{lang}-360.png", full_page=True)
        page.set_input_files("input[type=file]", str(good))
        page.click("form[enctype='multipart/form-data'] button[type=submit]")
        status = page.locator("[role=status]").inner_text()
        assert status == {"vi": "Đã nhập: lưu 2 dòng.", "en": "Imported: 2 row(s) stored."}[lang], status
        page.goto(f"{live_server}/admin/dossiers?lang={lang}")
        listing = page.locator("#dossier-list").inner_text()
        assert "HS-1" in listing and "nguyen.van.a@example.org" in listing and "sms: 0900000002" in listing
        page.screenshot(path=artifacts / f"dossiers-list-{lang}-360.png", full_page=True)
        context.close()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 2
