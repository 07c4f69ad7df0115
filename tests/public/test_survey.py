"""The QR survey page: what is shown, what is stored, and what is refused."""

from __future__ import annotations

import re
import threading
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.extensions import db
from app.models import Response, slot_column
from app.services.exchange.responses_csv import ExportFilter, export_rows
from app.services.questionnaires.versions import questionnaire_of, rating_slots
from tests.public.conftest import SHORT_ANSWERS, open_form, post_form


def _responses() -> list[Response]:
    db.session.expire_all()
    return list(db.session.scalars(select(Response).order_by(Response.id)))


def test_short_form_in_vietnamese_shows_agency_counter_services_and_worded_scale(client, org):
    html = client.get(f"/s/{org.short.qr_token}").get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert "Ủy ban nhân dân xã Thử" in html and "Quầy T01-Q2" in html
    assert "Đăng ký khai sinh" in html and "Đăng ký kết hôn" in html
    assert "Đăng ký khai tử" not in html  # not offered at this counter
    assert "Nhìn chung, Ông/Bà hài lòng như thế nào về lần phục vụ này?" in html
    for word in ("Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"):
        assert f"<span>{word}</span>" in html
    # One fieldset with a legend per question, every radio inside a label.
    assert html.count("<fieldset") == html.count("<legend>") == 7
    assert html.count('type="radio"') == html.count("<label><input type=\"radio\"") + html.count(
        '<label class="skip-q"><input type="radio"') + html.count('"><input type="radio" name="q-OVERALL"')
    # The quick rating comes first (issue 16): the overall question as five faces with their words.
    assert html.index('class="q quick"') < html.index('id="q-E1_1"')
    assert html.count('<label class="face f') == 5
    assert 'id="progress"' not in html  # the short form needs no progress bar


def test_english_is_one_tap_away_and_remembered(client, org):
    url = f"/s/{org.short.qr_token}"
    assert 'href="?lang=en"' in client.get(url).get_data(as_text=True)
    english = client.get(url + "?lang=en")
    assert "lang=en" in english.headers.get("Set-Cookie", "")
    html = client.get(url).get_data(as_text=True)  # no parameter: the cookie decides
    assert '<html lang="en">' in html
    assert "Overall, how satisfied are you with the service today?" in html
    assert "<span>Very satisfied</span>" in html and "Counter T01-Q2" in html


def test_full_sipas_form_has_every_question_parts_and_progress(client, org):
    html = client.get(f"/s/{org.full.qr_token}").get_data(as_text=True)
    questionnaire = questionnaire_of(org.full_version)
    assert html.count("<fieldset") == len(questionnaire.all_questions()) == 33  # with FEEDBACK (issue 17)
    assert 'id="progress"' in html and "Phần 1/6" in html
    assert 'type="checkbox"' in html  # EXPECT is a multiple choice


def test_valid_short_form_is_stored_once_with_slots_and_answers(client, org):
    url = f"/s/{org.short.qr_token}"
    fields = open_form(client, url)
    page = client.post(url, data={**fields, **SHORT_ANSWERS, "service": str(org.marriage.id)})
    assert page.status_code == 303
    assert page.headers["Location"] == f"/thanks?n={fields['nonce']}"
    assert "Cảm ơn" in client.get(page.headers["Location"]).get_data(as_text=True)
    [row] = _responses()
    slots = rating_slots(questionnaire_of(org.short_version))
    for code in ("E1_1", "E2_1", "E3_1", "E4_1", "E5_1", "OVERALL"):
        assert getattr(row, slot_column(slots[code])) == int(SHORT_ANSWERS[f"q-{code}"])
    assert row.answers == {"COMMENT": "Cán bộ nhiệt tình"}
    assert (row.channel, row.version_id, row.agency_id, row.service_point_id, row.service_id) == (
        "qr", org.short_version.id, org.agency.id, org.short.id, org.marriage.id)
    assert row.nonce == fields["nonce"] and row.weight is None and row.submitted_at is not None
    assert row.verified is False and row.suspicious is False and row.flags is None and row.dossier_key is None
    assert re.fullmatch(r"[0-9a-f]{64}", row.client_hash) and "127.0.0.1" not in row.client_hash
    # The design of a self-selected answer: stratum = agency, PSU = counter and local ISO week.
    year, week, _ = row.submitted_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).isocalendar()
    assert (row.stratum, row.psu) == (org.agency.code, f"{org.short.code}/{year}-W{week:02d}")


def test_full_sipas_answers_export_like_an_import(client, org):
    url = f"/s/{org.full.qr_token}"
    answers = {f"q-{q.code}": "4" for q in questionnaire_of(org.full_version).all_questions()
               if q.type == "likert"}
    answers.update({"q-E1_2": "", "q-EXPECT": ["staff_attitude", "processing_time"], "q-GENDER": "f",
                    "q-AGE_GROUP": "30-44", "q-COMMENT": "=1+1 <b>không</b>"})
    assert post_form(client, url, answers).status_code == 303
    rows = list(export_rows(ExportFilter("sipas-2017"), "Asia/Ho_Chi_Minh"))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["E1_1"] == "4" and record["E1_2"] == "" and record["OVERALL"] == "4"
    assert record["EXPECT"] == "staff_attitude;processing_time"
    assert (record["GENDER"], record["AGE_GROUP"], record["channel"]) == ("f", "30-44", "qr")
    assert record["COMMENT"] == "'=1+1 <b>không</b>"  # the export defuses spreadsheet formulas
    stored = _responses()[0].answers
    assert stored["EXPECT"] == ["staff_attitude", "processing_time"]
    assert stored["COMMENT"] == "=1+1 <b>không</b>"  # stored exactly as typed


def test_double_submit_refresh_and_retry_store_one_response(client, org):
    url = f"/s/{org.short.qr_token}"
    fields = open_form(client, url)
    first = post_form(client, url, fields=fields)
    again = post_form(client, url, fields=fields, answers={**SHORT_ANSWERS, "q-OVERALL": "1"})
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    [row] = _responses()
    assert row.nonce == fields["nonce"]


def test_concurrent_retries_of_one_form_store_one_response(app, org):
    url = f"/s/{org.short.qr_token}"
    fields = open_form(app.test_client(), url)
    barrier, statuses = threading.Barrier(6), []

    def submit():
        client = app.test_client()
        barrier.wait()
        statuses.append(post_form(client, url, fields=fields).status_code)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [303] * 6
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_invalid_answers_rerender_with_errors_in_vietnamese_and_store_nothing(client, org):
    url = f"/s/{org.short.qr_token}"
    answers = {**SHORT_ANSWERS, "q-OVERALL": "", "q-E1_1": "7", "q-E2_1": "5"}
    page = post_form(client, url, answers, )
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "Vui lòng trả lời câu hỏi này." in html  # OVERALL is required
    assert "Vui lòng chọn một trong các câu trả lời" in html  # 7 is not on the scale
    assert 'id="e-OVERALL"' in html and 'aria-describedby="e-E1_1"' in html
    assert 'name="q-E2_1" value="5" checked' in html  # what the citizen chose is kept
    assert "Cán bộ nhiệt tình</textarea>" in html
    assert _responses() == []


def test_errors_follow_the_citizens_language(client, org):
    url = f"/s/{org.short.qr_token}?lang=en"
    page = post_form(client, url, {**SHORT_ANSWERS, "q-OVERALL": ""})
    assert page.status_code == 422
    assert "Please answer this question." in page.get_data(as_text=True)


def test_unknown_service_too_long_text_and_two_values_are_refused(client, org):
    url = f"/s/{org.short.qr_token}"
    page = post_form(client, url, {**SHORT_ANSWERS, "service": str(org.other.id),
                                   "q-COMMENT": "x" * 2001, "q-E3_1": ["1", "2"]})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="e-service"' in html and 'id="e-COMMENT"' in html and 'id="e-E3_1"' in html
    assert _responses() == []


def test_a_version_not_of_this_counter_is_refused(client, org):
    url = f"/s/{org.short.qr_token}"
    fields = {**open_form(client, url), "version_id": str(org.full_version.id)}
    page = post_form(client, url, fields=fields)
    assert page.status_code == 422
    assert "đã được cập nhật" in page.get_data(as_text=True)
    assert _responses() == []


def test_a_malformed_nonce_stores_nothing(client, org):
    url = f"/s/{org.short.qr_token}"
    page = post_form(client, url, fields={**open_form(client, url), "nonce": "short"})
    assert page.status_code == 422 and _responses() == []


def test_thank_you_only_after_a_committed_response(client, org):
    assert client.get("/thanks?n=never-stored-nonce-123").status_code == 302
    assert client.get("/thanks").status_code == 302


def test_unknown_and_revoked_tokens_get_a_bilingual_404(client, org):
    for url in ("/s/not-a-token", f"/s/{org.revoked.qr_token}", "/k/not-a-token"):
        page = client.get(url)
        html = page.get_data(as_text=True)
        assert page.status_code == 404, url
        assert "Không tìm thấy trang khảo sát" in html and "Survey page not found" in html
    assert client.post("/s/not-a-token", data=SHORT_ANSWERS).status_code == 404


def test_counter_without_questionnaire_says_so(client, org):
    for prefix in ("/s/", "/k/"):
        page = client.get(prefix + org.empty.qr_token)
        assert page.status_code == 200
        assert "Quầy này hiện không nhận đánh giá" in page.get_data(as_text=True)
    page = client.post("/s/" + org.empty.qr_token, data=SHORT_ANSWERS)
    assert page.status_code == 200 and _responses() == []


def test_unexpected_form_fields_never_cause_a_500(client, org):
    url = f"/s/{org.short.qr_token}"
    for data in ({}, {"version_id": "x", "nonce": "y" * 30}, {"version_id": "999999", "nonce": "z" * 30},
                 {"answered_at": "9" * 40, "service": "abc"}):
        assert client.post(url, data=data).status_code in (200, 422)
    assert _responses() == []
