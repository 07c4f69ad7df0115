"""A national installation in headless Chromium on a 360-px phone (issue 20, item 3): an administrator
uploads a province's signed totals file (and a badly signed one, refused in Vietnamese and English), then
opens the national ranking in both languages. Screenshots in test-artifacts/."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import TotalsImport
from app.services.totals import import_totals, trust_unit_key
from tests.admin.conftest import make_user
from tests.e2e.conftest import assert_no_sideways_scroll, signed_in_phone
from tests.services.totals.national_data import (
    UNITS,
    national_installation,
    private_pem,
    public_pem,
    write_signed,
)

YEAR = ("2026-01", "2026-12")




def test_upload_a_totals_file_and_read_the_national_ranking(app, browser, live_server, artifacts, tmp_path):
    keys = national_installation(app)
    make_user("root@example.org", "administrator")
    for unit in UNITS:
        trust_unit_key(unit, public_pem(keys[unit]), None)
    for i, unit in enumerate(UNITS[1:], start=1):  # P2 and P3 already sent theirs
        f = write_signed(unit, tmp_path, YEAR, seed=i, private=keys[unit])
        import_totals(f.data, f.signature, f.path.name, None)
    db.session.commit()
    good = write_signed("P1", tmp_path, YEAR, seed=0, private=keys["P1"])
    bad = write_signed("P1", tmp_path, YEAR, seed=0, private=private_pem(), name="P1-forged.parquet")
    refusal = {"vi": "P1-forged.parquet không được nhập: chữ ký không khớp với khóa của đơn vị P1",
               "en": "P1-forged.parquet was not imported: the signature does not verify with unit P1's key"}
    imported = {"vi": "Đơn vị P1, 2026-01 đến 2026-12: đã nhập",
                "en": "Unit P1, 2026-01 to 2026-12: imported"}
    for lang in ("vi", "en"):
        context, page = signed_in_phone(browser, live_server, lang)
        page.goto(f"{live_server}/admin/totals?lang={lang}")
        assert_no_sideways_scroll(page)
        page.set_input_files("#totals-upload input[name=file]", str(bad.path))
        page.set_input_files("#totals-upload input[name=signature]", f"{bad.path}.sig")
        page.click("#totals-upload button[type=submit]")
        assert refusal[lang] in page.locator("#import-error").inner_text()
        assert_no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"national-import-refused-{lang}-360.png", full_page=True)
        page.set_input_files("#totals-upload input[name=file]", str(good.path))
        page.set_input_files("#totals-upload input[name=signature]", f"{good.path}.sig")
        page.click("#totals-upload button[type=submit]")
        assert imported[lang] in page.locator("[role=status]").inner_text()
        assert_no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"national-import-{lang}-360.png", full_page=True)
        page.goto(f"{live_server}/reports/national?lang={lang}")
        table = page.locator("#table-national").inner_text()
        for name in {"vi": ("Tỉnh Một", "Tỉnh Hai", "Bộ Ba"), "en": ("Province One", "Ministry Three")}[lang]:
            assert name in table
        page.locator("details.criteria").first.evaluate("d => d.open = true")
        assert_no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"national-ranking-{lang}-360.png", full_page=True)
        context.close()
    db.session.expire_all()
    rows = db.session.scalars(select(TotalsImport).order_by(TotalsImport.id)).all()
    # the second upload of P1's file (in English) replaced the first (in Vietnamese)
    assert [(r.agency.code, r.active) for r in rows] == \
        [("P2", True), ("P3", True), ("P1", False), ("P1", True)]
    assert db.session.scalar(select(func.count()).select_from(TotalsImport).where(TotalsImport.active)) == 3
