"""Issue 16 on the server: the quick rating, the error summary without JavaScript, help from staff."""

from __future__ import annotations

import copy
import re

import pytest
from sqlalchemy import select

from analysis.questionnaire import QuestionnaireError, parse_questionnaire
from app.extensions import db
from app.models import Response, slot_column
from app.services.collect.quick import quick_rating_on
from app.services.exchange.responses_csv import ExportFilter, export_rows
from app.services.questionnaires.versions import publish_questionnaire, questionnaire_of, rating_slots
from tests.public.conftest import open_form, post_form


def _rows() -> list[Response]:
    return list(db.session.scalars(select(Response).order_by(Response.id)))


def test_the_short_form_opens_with_the_quick_rating_and_one_answer_is_enough(client, org):
    html = client.get(f"/s/{org.short.qr_token}?lang=en").get_data(as_text=True)
    quick = html.index('<fieldset class="q quick"')
    assert quick < html.index('id="q-E1_1"') and quick < html.index('id="service"')
    # A radio group named by its legend, five faces each with its words (an icon and text).
    assert "<legend>Overall, how satisfied are you with the service today?</legend>" in html
    for word in ("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"):
        assert re.search(rf'<label class="face f\d"><input type="radio" name="q-OVERALL" value="\d" required>'
                         rf'<svg aria-hidden="true" focusable="false"><use href="#face-\d"/></svg>'
                         rf"<span>{word}</span></label>", html), word
    assert html.count('name="q-OVERALL"') == 5  # asked once, not again among the detailed questions
    assert "Answer 6 more questions (optional)" in html
    page = post_form(client, f"/s/{org.short.qr_token}", {"q-OVERALL": "5"})
    assert page.status_code == 303
    [row] = _rows()
    slots = rating_slots(questionnaire_of(org.short_version))
    assert getattr(row, slot_column(slots["OVERALL"])) == 5
    assert all(getattr(row, slot_column(slots[c])) is None for c in ("E1_1", "E2_1", "E3_1", "E4_1", "E5_1"))
    assert (row.answers, row.assisted) == ({}, False)


def test_the_kiosk_opens_with_the_quick_rating_and_the_long_qr_form_does_not(client, org):
    kiosk = client.get(f"/k/{org.full.qr_token}").get_data(as_text=True)
    assert kiosk.index('class="q quick"') < kiosk.index('id="q-E1_1"')
    qr = client.get(f"/s/{org.full.qr_token}").get_data(as_text=True)
    assert 'class="q quick"' not in qr and 'data-stepped="1"' in qr
    assert qr.count('name="q-OVERALL"') == 5  # in its place, question 28


def _publish(org, quick_rating, extra_required=True):
    """Version 2 of the short form with a second required question, and quick_rating as given."""
    doc = copy.deepcopy(org.short_version.definition)
    doc["version"] = 2
    if extra_required:
        doc["elements"][2]["questions"][0]["required"] = True  # E3_1
    if quick_rating is not None:
        doc["quick_rating"] = quick_rating
    version, _ = publish_questionnaire(parse_questionnaire(doc))
    db.session.commit()
    return version


@pytest.mark.parametrize(("quick_rating", "channel", "stored"), [
    (True, "s", True), (True, "k", True), (None, "s", True), (None, "k", True),
    (False, "s", False), (False, "k", False)])
def test_only_the_overall_item_is_a_complete_response_when_the_version_asks_the_quick_rating(
        client, org, quick_rating, channel, stored):
    version = _publish(org, quick_rating)
    qn = questionnaire_of(version)
    assert qn.quick_rating is quick_rating
    assert quick_rating_on(qn, "kiosk" if channel == "k" else "qr") is stored
    url = f"/{channel}/{org.short.qr_token}"
    fields = open_form(client, url)
    assert fields["version_id"] == str(version.id)
    page = client.post(url, data={**fields, "q-OVERALL": "2"})
    assert (page.status_code == 303) is stored
    assert len(_rows()) == (1 if stored else 0)
    if not stored:
        html = page.get_data(as_text=True)
        assert 'href="#q-E3_1"' in html and 'class="q quick"' not in html


def test_quick_rating_key_is_checked_and_kept_only_when_set(org):
    doc = copy.deepcopy(org.short_version.definition)
    assert "quick_rating" not in doc and parse_questionnaire(doc).quick_rating is None
    for bad, message in (("yes", "quick_rating: expected true or false"),
                         (True, "quick_rating: needs a likert question coded OVERALL")):
        broken = copy.deepcopy(doc)
        broken["quick_rating"] = bad
        if bad is True:
            broken["questions"] = [q for q in broken["questions"] if q["code"] != "OVERALL"]
        with pytest.raises(QuestionnaireError) as caught:
            parse_questionnaire(broken)
        assert any(message in error for error in caught.value.errors), caught.value.errors
    doc["quick_rating"] = False
    assert parse_questionnaire(doc).definition["quick_rating"] is False


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_errors_without_javascript_lead_to_the_question(client, org, lang):
    url = f"/s/{org.full.qr_token}"
    client.get(f"{url}?lang={lang}")
    page = post_form(client, url, {"q-E1_1": "4", "service": "999999"})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    words = {"vi": ("Lỗi:", "2 câu trả lời cần Ông/Bà xem lại", "Vui lòng trả lời câu hỏi này."),
             "en": ("Error:", "2 answers need your attention", "Please answer this question.")}[lang]
    assert re.search(rf"<title>{words[0]} ", html)
    summary = html[html.index('<div class="error-summary"'):html.index("<form")]
    assert 'id="error-summary" tabindex="-1" autofocus' in summary and words[1] in summary
    links = re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', summary)
    assert [anchor for anchor, _ in links] == ["service", "q-OVERALL"]
    assert links[1][1].startswith("29. ") and links[1][1].endswith(words[2])  # v2: FEEDBACK
    assert ('<fieldset class="q likert bad" id="q-OVERALL" aria-invalid="true" aria-describedby="e-OVERALL">'
            in html)
    message = rf'<p class="err" id="e-OVERALL"><span class="sr">{words[0]}</span> {words[2]}</p>'
    assert re.search(message, html)
    assert 'aria-invalid="true" aria-describedby="e-service"' in html
    assert 'value="4" checked' in html  # the answer given is kept
    assert _rows() == []


def test_help_from_staff_is_stored_exported_and_kept_on_errors(client, org):
    url = f"/s/{org.short.qr_token}"
    page = post_form(client, url, {"assisted": "1"})  # OVERALL missing: drawn again, still ticked
    assert page.status_code == 422
    assert 'name="assisted" value="1" checked' in page.get_data(as_text=True)
    assert post_form(client, url, {"q-OVERALL": "4", "assisted": "1"}).status_code == 303
    assert post_form(client, url, {"q-OVERALL": "3"}).status_code == 303
    kiosk = post_form(client, f"/k/{org.short.qr_token}", {"q-OVERALL": "5", "assisted": "1"})
    assert kiosk.status_code == 303
    rows = _rows()
    assert [(r.channel, r.assisted) for r in rows] == [("qr", True), ("qr", False), ("kiosk", True)]
    header, *lines = list(export_rows(ExportFilter("sipas-short"), "Asia/Ho_Chi_Minh"))
    at = header.index("assisted")
    assert header[at - 2:at + 1] == ["verified", "suspicious", "assisted"]
    assert sorted(line[at] for line in lines) == ["no", "yes", "yes"]


def test_a_double_tap_a_back_button_and_a_reloaded_thank_you_store_one_response(client, org):
    url = f"/s/{org.short.qr_token}"
    fields = open_form(client, url)
    answers = {**fields, "q-OVERALL": "4"}
    first, second = client.post(url, data=answers), client.post(url, data=answers)  # double tap
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    thanks = first.headers["Location"]
    for _ in range(2):  # the thank-you page reloaded
        assert "Xin cảm ơn!" in client.get(thanks).get_data(as_text=True)
    assert client.post(url, data={**answers, "q-OVERALL": "1"}).status_code == 303  # back, changed, sent
    [row] = _rows()
    assert getattr(row, slot_column(rating_slots(questionnaire_of(org.short_version))["OVERALL"])) == 4
