"""A whole survey campaign walked in headless Chromium (issue 19): a survey administrator uploads the
one-stop system's dossier list, creates, plans and draws a campaign, queues the e-mails (sent by the outbox
worker to a real SMTP server on 127.0.0.1) and prints the letters; three sampled citizens open the address
of their letter or e-mail on a 360-px phone and answer (Vietnamese and English); a week later the
administrator sends the reminders and reads the tracking (RR1); a leader reads the campaign's estimates.

The invitation codes are read the way an administrator would have them: from the letters' PDF text
(pdftotext) and from the e-mails the SMTP server received. Screenshots in test-artifacts/campaign-walk-*.
"""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Agency, CampaignSample
from app.services.questionnaires.versions import SURVEYS_DIR, publish_questionnaire, validate_file
from tests.admin.conftest import PASSWORD, make_user
from tests.services.cases.test_outbox import smtp  # noqa: F401 (the real SMTP server fixture)

AGENCIES = [  # code, Vietnamese name, English name, level, parent
    ("HB", "Ủy ban nhân dân tỉnh Hòa Bình", "Hoa Binh Province", "province", None),
    ("HB-LS", "Ủy ban nhân dân huyện Lạc Sơn", "Lac Son District", "district", "HB"),
    ("HB-KB", "Ủy ban nhân dân huyện Kim Bôi", "Kim Boi District", "district", "HB"),
    ("HB-LS-VN", "Ủy ban nhân dân xã Vũ Bình", "Vu Binh Commune", "commune", "HB-LS"),
]
# dossiers per agency (60 in all); procedures cycle, contacts by the dossier's number
SIZES = {"HB-LS": 24, "HB-KB": 24, "HB-LS-VN": 12}
PROCEDURES = [("Cấp giấy chứng nhận quyền sử dụng đất", "land"), ("Đăng ký khai sinh", "civil"),
              ("Chứng thực bản sao từ bản chính", "civil"), ("Cấp giấy phép xây dựng", "building")]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung"]
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em", "Võ Thị Giang"]
BUDGET = 15  # invitations, shared equally: 5 per stratum
# the citizens' answers to every rating question (5, 4: satisfied; 2: not satisfied)
CITIZENS = [("vi", "5", "Cán bộ hướng dẫn rõ ràng, nhanh gọn"), ("en", "4", "Quick and polite"),
            ("vi", "2", "Phải chờ lâu")]
RATED = ("E1_1", "E2_1", "E3_1", "E4_1", "E5_1", "OVERALL")
SHOTS = "campaign-walk"


def dossier_list_csv() -> str:
    """The one-stop system's export: 60 dossiers of three agencies completed in the first quarter of
    2026, a third with an e-mail address, half with a postal address, the rest without a contact."""
    lines = ["Mã hồ sơ,Cơ quan,Thủ tục,Nhóm thủ tục,Ngày tiếp nhận,Ngày hoàn thành,Hạn xử lý,"
             "Kênh liên hệ,Địa chỉ liên hệ,Người liên hệ"]
    number = 0
    for agency, size in SIZES.items():
        for i in range(size):
            number += 1
            procedure, group = PROCEDURES[i % len(PROCEDURES)]
            month = 1 + i % 3
            received, completed, due = (f"2026-0{month}-{d:02d}" for d in (2, 9, 16))
            name = NAMES[i % len(NAMES)]
            kind = i % 6
            if kind in (0, 1):
                contact = f"email,{_ascii(name)}.{number}@example.org,{name}"
            elif kind in (2, 3, 4):
                contact = f'post,"{number} {STREETS[i % 6]}, thị trấn Vụ Bản, tỉnh Hòa Bình",{name}'
            else:
                contact = ",,"
            lines.append(f"000.00.{number:02d}.H28-260{month}0{i % 9 + 1}-{number:04d},{agency},{procedure},"
                         f"{group},{received},{completed},{due},{contact}")
    return "\n".join(lines) + "\n"


def _ascii(name: str) -> str:
    table = str.maketrans("ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ",
                          "aadeoouaaaaaaaaaaaaaaaeeeeeeeeeeiiiiiooooooooooooooouuuuuuuuuuyyyyy")
    return name.lower().translate(table).replace(" ", ".")


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


def _shot(page, artifacts, name: str) -> None:
    _no_sideways_scroll(page)
    page.screenshot(path=artifacts / f"{SHOTS}-{name}.png", full_page=True)


def _login(browser, live_server, email: str, lang: str):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="vi-VN",
                                  accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server}/auth/login?lang={lang}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    return page


def build_world():
    by_code = {}
    for code, name_vi, name_en, level, parent in AGENCIES:
        by_code[code] = Agency(code=code, name_vi=name_vi, name_en=name_en, level=level,
                               parent_id=by_code[parent].id if parent else None)
        db.session.add(by_code[code])
        db.session.flush()
    version, _ = publish_questionnaire(validate_file(SURVEYS_DIR / "sipas-short.yaml"))
    make_user("khaosat@hoabinh.gov.vn", "administrator")
    make_user("lanhdao@hoabinh.gov.vn", "leader", by_code["HB"])
    db.session.commit()
    return by_code, version


def _letters_codes(pdf_path) -> dict[str, str]:
    """Dossier code -> invitation code, read from the letters' text as a person would read a letter."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True,
                          check=True).stdout
    found = {}
    for page in text.split("\f"):
        if not page.strip():
            continue
        dossier = re.search(r"000\.00\.\d\d\.H28-\d{6}-\d{4}", page)
        # the address is written on two lines: the site and /i/, then the whole code on one line
        code = re.search(r"(?m)/i/\s*([A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{32})\s*$", page)
        assert dossier and code, page
        found[dossier.group(0)] = code.group(1)
    return found


def _mail_codes(smtp_box) -> dict[str, str]:  # noqa: F811
    found = {}
    for _to, mail in smtp_box.messages:
        body = mail.get_body().get_content()
        dossier = re.search(r"000\.00\.\d\d\.H28-\d{6}-\d{4}", mail["Subject"] + body).group(0)
        found[dossier] = re.search(r"/i/([A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{32})", body).group(1)
    return found


def _answer(page, rating: str, comment: str) -> None:
    for code in RATED:
        page.locator(f"input[name='q-{code}'][value='{rating}']").check(force=True)
    page.fill("textarea[name='q-COMMENT']", comment)
    page.locator("button.send").click()
    page.wait_for_url("**sent=1")


def _tracking_rows(page) -> list[list[str]]:
    return page.eval_on_selector_all("table.tracking tbody tr", "rows => rows.map(r => [...r.cells].map("
                                     "c => c.innerText.replace(/\\s+/g, ' ').trim()))")


def test_walk_a_whole_campaign_in_the_browser(app, browser, live_server, artifacts, phone, smtp,  # noqa: F811
                                              tmp_path):
    agencies, version = build_world()
    smtp.start()
    listing = tmp_path / "ho-so-quy-1-2026.csv"
    listing.write_text(dossier_list_csv(), encoding="utf-8")

    # 1. the dossier list
    admin = _login(browser, live_server, "khaosat@hoabinh.gov.vn", "vi")
    admin.goto(f"{live_server}/admin/dossiers?lang=vi")
    admin.click("#dossiers-import")
    admin.set_input_files("input[type=file]", str(listing))
    admin.click("form[enctype='multipart/form-data'] button[type=submit]")
    assert admin.locator("[role=status]").inner_text() == "Đã nhập: lưu 60 dòng."
    _shot(admin, artifacts, "1-import-vi-360")

    # 2. the campaign: from the dossier list by links, created, planned (5 invitations per stratum), drawn
    admin.get_by_role("link", name="Quay lại").click()
    admin.click("#dossiers-campaigns")
    admin.click("#campaign-new")
    admin.fill("#code", "KS-Q1-2026")
    admin.fill("#name", "Khảo sát hài lòng quý 1 năm 2026")
    admin.select_option("#version_id", str(version.id))
    admin.select_option("#agency_id", str(agencies["HB"].id))
    admin.fill("#period_start", "2026-01-01")
    admin.fill("#period_end", "2026-03-31")
    admin.fill("#target_half_width", "10")
    admin.select_option("#allocation", "equal")
    admin.fill("#budget", str(BUDGET))
    admin.fill("#reminder_days", "5")
    admin.click("#campaign-save")
    admin.locator("#plan").wait_for()  # (evaluating does not wait for the next page)
    plan = admin.eval_on_selector_all("#plan tbody tr", "rows => rows.map(r => [...r.cells].map("
                                      "c => c.innerText.trim()))")
    assert [(row[0].split()[0], row[1], row[4]) for row in plan] == [
        ("HB-KB", "24", "5"), ("HB-LS", "24", "5"), ("HB-LS-VN", "12", "5")]
    assert admin.locator("#total-planned").inner_text() == str(BUDGET)
    _shot(admin, artifacts, "2-plan-vi-360")
    admin.click("#campaign-draw")
    admin.click("#confirm")
    admin.wait_for_load_state()
    assert "Đã rút mẫu (cố định)" in admin.locator("#campaign-status").inner_text()
    _shot(admin, artifacts, "3-drawn-vi-360")

    # 3. invitations: the e-mails through the outbox worker and the real SMTP server, the letters' PDF
    admin.click("#campaign-tracking")
    admin.wait_for_load_state()
    admin.get_by_role("button", name="Xếp hàng gửi lời mời qua thư điện tử và SMS").click()
    admin.wait_for_load_state()
    samples = db.session.scalars(select(CampaignSample).order_by(CampaignSample.id)).all()
    channels = {s.dossier.code: (s.dossier.contact.channel if s.dossier.contact else None) for s in samples}
    emails = sorted(code for code, channel in channels.items() if channel == "email")
    posts = sorted(code for code, channel in channels.items() if channel == "post")
    assert len(samples) == BUDGET and len(posts) + len(emails) >= 3
    flash = admin.locator(".flash").first.inner_text()
    assert f"Đã xếp hàng: {len(emails)} thư điện tử, 0 tin nhắn SMS." in flash, flash
    sent = app.test_cli_runner().invoke(args=["outbox", "run", "--once"])
    assert sent.exit_code == 0, sent.output
    mail_codes = _mail_codes(smtp)
    assert sorted(mail_codes) == emails
    with admin.expect_download() as download:
        admin.get_by_role("link", name="Thư mời để in (PDF)").click()
    letters = tmp_path / "thu-moi.pdf"
    download.value.save_as(letters)
    info = subprocess.run(["pdfinfo", str(letters)], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) == len(posts)
    letter_codes = _letters_codes(letters)
    assert sorted(letter_codes) == posts
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(letters),
                    str(artifacts / f"{SHOTS}-4-letter")], check=True)
    admin.reload()
    # stratum, sampled, invited, delivered, bounced, opened, answered, refused, not contacted, RR1
    total = _tracking_rows(admin)[-1]
    assert total == ["Tất cả các tầng", str(BUDGET), str(len(emails) + len(posts)), str(len(emails)), "0",
                     "0", "0", "0", str(BUDGET - len(emails) - len(posts)), "0.0 %"], total
    _shot(admin, artifacts, "5-tracking-invited-vi-360")

    # 4. three citizens answer on their phones: two letters and an e-mail (or others when the draw has
    # fewer of either)
    by_letter = [(code, letter_codes[code]) for code in posts]
    by_mail = [(code, mail_codes[code]) for code in emails]
    chosen = by_letter[:2] + by_mail[:1]
    chosen += (by_letter[2:] + by_mail[1:])[:3 - len(chosen)]
    for (dossier, code), (lang, rating, comment) in zip(chosen, CITIZENS, strict=True):
        citizen = phone()
        citizen.goto(f"{live_server}/i/{code}?lang={lang}")
        assert dossier in citizen.inner_text("main")
        assert "Khảo sát hài lòng quý 1 năm 2026" in citizen.inner_text("h1")
        _shot(citizen, artifacts, f"6-citizen-form-{lang}-{rating}-360")
        _answer(citizen, rating, comment)
        assert {"vi": "Câu trả lời của ông/bà đã được ghi nhận",
                "en": "Your answers have been recorded."}[lang] in citizen.inner_text("main")
        _shot(citizen, artifacts, f"7-citizen-thanks-{lang}-{rating}-360")

    # 5. six days later (reminders after 5): the reminders, then the tracking (3 answered of 15: RR1 20.0 %)
    for sample in db.session.scalars(select(CampaignSample).where(CampaignSample.invited_at.is_not(None))):
        sample.invited_at -= timedelta(days=6)
    db.session.commit()
    answered = {dossier for dossier, _code in chosen}
    assert len(answered) == 3
    owed_emails = len([c for c in emails if c not in answered])
    owed = owed_emails + len([c for c in posts if c not in answered])
    admin.reload()
    assert "Nhắc lại sau 5 ngày" in admin.inner_text("main")
    assert f"{owed} hồ sơ cần được nhắc lại." in admin.inner_text("main")
    admin.get_by_role("button", name="Xếp hàng gửi nhắc lại qua thư điện tử và SMS").click()
    admin.wait_for_load_state()
    flash = admin.locator(".flash").first.inner_text()
    assert f"Đã xếp hàng nhắc lại: {owed_emails} thư điện tử, 0 tin nhắn SMS." in flash, flash
    total = _tracking_rows(admin)[-1]
    assert total[1] == str(BUDGET) and total[6] == "3" and total[-1] == "20.0 %", total
    summary = admin.locator("#tracking-summary").inner_text()
    assert summary == f"Đã trả lời: 3 trên {BUDGET} hồ sơ được chọn mẫu (RR1 20.0 %).", summary
    # the e-mails are reminded; the letters are left, and the page says so
    owed_posts = owed - owed_emails
    if owed_posts:
        assert admin.locator("#reminders-due").inner_text() == (
            f"{owed_posts} hồ sơ cần được nhắc lại. Trong đó {owed_posts} hồ sơ liên hệ qua thư: "
            "hãy in thư nhắc lại.")
        with admin.expect_download() as download:
            admin.get_by_role("link", name="Thư nhắc lại (PDF)").click()
        download.value.save_as(tmp_path / "nhac-lai.pdf")
        info = subprocess.run(["pdfinfo", str(tmp_path / "nhac-lai.pdf")], capture_output=True, text=True,
                              check=True).stdout
        assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) == owed_posts
        admin.reload()
    assert admin.locator("#reminders-due").inner_text() == "0 hồ sơ cần được nhắc lại."
    _shot(admin, artifacts, "8-tracking-reminded-vi-360")
    admin.context.close()

    # 6. a leader reads the estimates: each respondent is its stratum's weight N_h / r_h
    strata = {code: size for code, size in SIZES.items()}
    respondents: dict[str, list[int]] = {}
    for (dossier, _code), (_lang, rating, _comment) in zip(chosen, CITIZENS, strict=True):
        stratum = next(s.stratum.key for s in samples if s.dossier.code == dossier)
        respondents.setdefault(stratum, []).append(1 if int(rating) >= 4 else 0)
    expected = 100 * sum(strata[h] * sum(y) / len(y) for h, y in respondents.items()) / sum(
        strata[h] for h in respondents)
    for lang in ("vi", "en"):
        leader = _login(browser, live_server, "lanhdao@hoabinh.gov.vn", lang)
        campaign_id = samples[0].campaign_id
        # from the reports' first page, by links only
        leader.goto(f"{live_server}/reports/?lang={lang}")
        leader.click("#campaigns-link")
        leader.wait_for_url("**/reports/campaigns")
        _shot(leader, artifacts, f"9-campaigns-{lang}-360")
        leader.get_by_role("link", name="KS-Q1-2026: Khảo sát hài lòng quý 1 năm 2026").click()
        leader.wait_for_url(f"**/reports/campaigns/{campaign_id}")
        overall = leader.locator("#campaign-estimates tr[data-key=ALL]")
        cells = overall.locator("td")
        assert cells.nth(0).inner_text() == str(BUDGET)
        assert cells.nth(1).inner_text().split()[0] == "3"
        assert overall.locator(".estimate").inner_text() == f"{expected:.1f}"
        _shot(leader, artifacts, f"10-estimates-{lang}-360")
        leader.context.close()
