"""A way in (issue 17, part 8): `make run` says where to go, the home page links to sign-in and reports,
a counter's page gives its kiosk address, and the admin pages' words and import errors are in both
languages (levels in words, each field named once)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from flask_babel import refresh

from app.services.exchange.problems import Problem
from tests.admin.conftest import login_as

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_prints_the_addresses_and_the_first_administrator_command_before_gunicorn():
    plan = subprocess.run(["make", "-n", "run", "PORT=5123"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout
    gunicorn = plan.index("gunicorn --bind 127.0.0.1:5123")
    before = plan[:gunicorn]
    for address in ("http://127.0.0.1:5123/", "http://127.0.0.1:5123/auth/login",
                    "http://127.0.0.1:5123/reports/", "http://127.0.0.1:5123/api/v1/docs"):
        assert address in before
    assert "flask users create-admin --email" in before


def test_home_links_to_sign_in_reports_and_the_scoreboard_when_public(app, client):
    html = client.get("/?lang=en").get_data(as_text=True)
    assert 'id="home-login" href="/auth/login"' in html and "Staff sign-in" in html
    assert 'id="home-reports" href="/reports/"' in html
    assert "home-scoreboard" not in html
    app.config["PUBLIC_SCOREBOARD"] = True
    vi = client.get("/?lang=vi").get_data(as_text=True)
    assert 'id="home-scoreboard" href="/reports/scoreboard"' in vi
    assert "Cán bộ đăng nhập" in vi and "Báo cáo và chỉ số" in vi
    for path in ("/auth/login", "/reports/scoreboard"):
        assert client.get(path).status_code == 200


def test_counter_page_gives_the_kiosk_address_that_opens_the_kiosk(client, tree):
    login_as(client, tree.users["manager"])
    html = client.get(f"/admin/counters/{tree.counter_in.id}?lang=en").get_data(as_text=True)
    kiosk = f"http://localhost/k/{tree.counter_in.qr_token}"
    assert f'id="kiosk-url" href="{kiosk}"' in html
    assert client.get(kiosk.removeprefix("http://localhost")).status_code == 200


def test_levels_are_words_in_both_languages(client, tree):
    login_as(client, tree.users["administrator"])
    vi = client.get("/admin/agencies?lang=vi").get_data(as_text=True)
    assert "<td>Quận/Huyện</td>" in vi and "<td>district</td>" not in vi
    form = client.get(f"/admin/agencies/{tree.commune.id}?lang=vi").get_data(as_text=True)
    assert '<option selected value="commune">Xã/Phường</option>' in form
    en = client.get("/admin/agencies?lang=en").get_data(as_text=True)
    assert "<td>District</td>" in en


def test_a_problem_is_english_text_and_translates_on_a_page(app):
    problem = Problem("unknown agency %(code)s", code="'Z'").at("f.csv", 3, "agency")
    assert problem == "f.csv: row 3, column agency: unknown agency 'Z'"
    with app.test_request_context("/?lang=vi"):
        refresh()  # the locale is cached on the app context the fixture holds
        assert problem.translated() == "f.csv: dòng 3, cột agency: không có cơ quan 'Z'"
    with app.test_request_context("/?lang=en"):
        refresh()
        assert problem.translated() == str(problem)


def test_responses_import_errors_in_vietnamese_name_the_question_once(client, tree):
    from app.extensions import db
    from app.services.questionnaires.versions import load_standard_questionnaires

    load_standard_questionnaires()
    db.session.commit()
    login_as(client, tree.users["administrator"])
    csv_text = ("response_id,survey,agency,channel,E1_1\n"
                "a-1,sipas-2017,X1,qr,7\n"
                "a-2,sipas-2017,X1,fax,\n")
    response = client.post("/admin/responses/import", data={"file": (io.BytesIO(csv_text.encode()), "r.csv")},
                           content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ("r.csv: dòng 2, cột E1_1: câu trả lời &#39;7&#39; không hợp lệ (cần một số nguyên từ 1 đến 5)"
            in text)
    assert "dòng 3, cột channel: &#39;fax&#39; không thuộc các giá trị" in text
    assert "E1_1: E1_1" not in text and "invalid answer" not in text
