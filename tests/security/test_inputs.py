"""Input checks where text enters (issue 21, findings 1, 2 and 10): control characters are refused with a
message in the visitor's language, ids and page numbers out of the database's range are a 404, and the
inputs that answered 500 answer a page. Each runs on SQLite and on PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.inputs import MAX_ID, MAX_PAGE, control_character, parse_id, refuse_control_characters
from app.models import Questionnaire, Response
from tests.admin.conftest import login_as
from tests.public.conftest import SHORT_ANSWERS, open_form
from tests.security.conftest import row_counts

VI_REFUSED = "ký tự điều khiển"
EN_REFUSED = "control character"


def test_control_characters_are_found_where_they_are_not_allowed():
    assert control_character("hello\x00world") == "\x00"
    assert control_character("two\nlines\r\n\tindented") is None
    assert control_character("two\nlines", multiline=False) == "\n"
    assert control_character("\x1b[31m") == "\x1b"
    assert control_character("\x85") == "\x85"  # C1 (NEL)
    assert control_character("\ud800") == "\ud800"  # a lone surrogate, from a JSON escape
    assert control_character("Cán bộ nhiệt tình 👍") is None


def test_an_imported_file_names_the_line_of_its_control_character():
    assert refuse_control_characters("a,b\r\n1,\"x\ny\"\r\n", "ok.csv") == "a,b\r\n1,\"x\ny\"\r\n"
    with pytest.raises(ValueError, match=r"bad\.csv: line 3 .*U\+0000"):
        refuse_control_characters("a,b\n1,2\n3,\x00\n", "bad.csv")


@pytest.mark.parametrize(("text", "expected"), [
    ("12", 12), (" 7 ", 7), ("", None), (None, None), ("abc", None), ("1.5", None), ("²", None),
    (str(MAX_ID), MAX_ID)])
def test_ids_in_range_are_read_and_others_are_none(app, text, expected):
    assert parse_id(text) == expected


@pytest.mark.parametrize("text", [str(MAX_ID + 1), str(2**63), str(10**30), "0", "-1", "-" + str(2**63)])
def test_ids_out_of_range_are_not_found(app, text):
    from werkzeug.exceptions import NotFound

    with app.test_request_context(), pytest.raises(NotFound):
        parse_id(text)


# ------------------------------------------------------------------ finding 1: NUL and control characters

@pytest.mark.parametrize("path", ["/s/%00", "/k/%00", "/k/%00/session", "/thanks?n=%00", "/k/x/thanks?n=%00",
                                  "/r/%00", "/s/abc%01", "/?x=%00", "/reports/?agency=%00"])
def test_a_nul_in_the_address_is_refused_with_a_message(client, org, path):
    reply = client.get(path)
    assert reply.status_code == 400, path
    assert VI_REFUSED in reply.get_data(as_text=True)
    english = client.get(path + ("&" if "?" in path else "?") + "lang=en")
    assert english.status_code == 400
    assert EN_REFUSED in english.get_data(as_text=True)


def test_a_post_to_a_nul_token_is_refused_and_stores_nothing(client, org):
    before = row_counts()
    reply = client.post("/s/%00", data={"nonce": "x" * 22, "q-OVERALL": "5"})
    assert reply.status_code == 400
    assert row_counts() == before


def test_a_comment_with_a_nul_is_refused_and_the_comments_page_still_opens(client, org, tree):
    path = f"/s/{org.short.qr_token}"
    fields = open_form(client, path)
    reply = client.post(path + "?lang=en", data={**fields, **SHORT_ANSWERS, "q-COMMENT": "hello\x00world"})
    assert reply.status_code == 400
    assert EN_REFUSED in reply.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
    # Newlines and tabs in a comment are fine: the same form with them is stored.
    reply = client.post(path, data={**fields, **SHORT_ANSWERS, "q-COMMENT": "hello\r\n\tworld"})
    assert reply.status_code == 303
    stored = db.session.scalars(select(Response)).one()
    assert stored.answers["COMMENT"] == "hello\r\n\tworld"
    login_as(client, tree.users["administrator"])
    page = client.get(f"/reports/comments?agency={org.agency.id}")
    assert page.status_code == 200


def test_a_login_with_a_nul_in_the_email_is_refused(client, tree):
    reply = client.post("/auth/login", data={"email": "admin@example.org\x00", "password": "x"})
    assert reply.status_code == 400
    assert VI_REFUSED in reply.get_data(as_text=True)


def test_json_with_a_nul_or_a_lone_surrogate_is_refused(client, tree):
    login_as(client, tree.users["administrator"])
    for body in ('[{"agency": "P", "month": "2025-01", "dossiers": 3, "note": "a\\u0000b"}]',
                 '{"x\\ud800": 1}'):
        reply = client.post("/admin/volumes/import.json", data=body, content_type="application/json")
        assert reply.status_code == 400, body


def test_an_uploaded_csv_with_a_nul_is_refused_with_its_line(client, tree):
    login_as(client, tree.users["administrator"])
    before = row_counts()
    data = {"file": (io.BytesIO(b"code,level,name_vi,name_en,parent\nQ9,province,A\x00,B,\n"),
                     "agencies.csv")}
    reply = client.post("/admin/agencies/import?lang=en", data=data, content_type="multipart/form-data")
    assert reply.status_code == 422
    assert "agencies.csv: line 2 holds a control character (U+0000)" in reply.get_data(as_text=True)
    assert row_counts() == before
    data["file"] = (io.BytesIO(b"code,level,name_vi,name_en,parent\nQ9,province,A\x01,B,\n"), "agencies.csv")
    vietnamese = client.post("/admin/agencies/import?lang=vi", data=data, content_type="multipart/form-data")
    assert "agencies.csv: dòng 2 có ký tự điều khiển (U+0001)" in vietnamese.get_data(as_text=True)


def test_the_api_answers_json_for_a_nul(client):
    reply = client.get("/api/v1/indices?agency=%00")
    assert reply.status_code == 400
    assert reply.is_json and "NUL" in json.loads(reply.data)["message"]


# ------------------------------------------------------------------ finding 2: numbers out of range

@pytest.mark.parametrize("number", [2**31, 2**63, 10**30])
def test_ids_beyond_the_database_are_not_found(client, tree, number):
    login_as(client, tree.users["administrator"])
    for path in (f"/admin/agencies/{number}", f"/admin/counters/{number}", f"/admin/users/{number}",
                 f"/admin/questionnaires/versions/{number}", f"/reports/agencies/{number}",
                 f"/reports/overview?agency={number}", f"/reports/comments?agency={number}",
                 f"/admin/counters?agency={number}", f"/admin/counters/new?agency={number}",
                 f"/admin/responses/paper?counter_id={number}"):
        assert client.get(path).status_code == 404, path


def test_a_huge_page_number_is_not_found_and_a_silly_one_is_the_first(client, tree):
    login_as(client, tree.users["administrator"])
    assert client.get("/admin/audit?page=9223372036854775807").status_code == 404
    assert client.get(f"/admin/audit?page={MAX_PAGE + 1}").status_code == 404
    for page in ("-5", "0", "abc", ""):
        assert client.get(f"/admin/audit?page={page}").status_code == 200


# ------------------------------------------------------------------ finding 10

def test_a_new_questionnaire_with_an_unknown_template_and_a_bad_code_is_a_form_error(client, tree):
    login_as(client, tree.users["administrator"])
    reply = client.post("/admin/questionnaires/new?lang=en",
                        data={"template": "nonexistent", "code": "BAD CODE"}, follow_redirects=True)
    assert reply.status_code == 200
    text = reply.get_data(as_text=True)
    assert "Lower-case letters, digits and - only." in text
    assert "Not a valid choice" in text
    assert db.session.scalar(select(func.count()).select_from(Questionnaire)) == 0


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:////srv/sipas.db", "/srv/sipas.db"),
    ("sqlite:///file:/srv/sipas.db?mode=ro&uri=true", "/srv/sipas.db"),
    ("sqlite:///file:/srv/my%20data.db?uri=true", "/srv/my data.db"),
    ("sqlite:///file:sipas.db?uri=true", "sipas.db"),
    ("sqlite:///file:mem?mode=memory&cache=shared&uri=true", None),
    ("sqlite://", None),
    ("postgresql+psycopg://u@h/db", None),
])
def test_the_sqlite_file_is_found_in_plain_and_uri_urls(url, expected):
    from sqlalchemy.engine import make_url

    from app.services.collect.submit import sqlite_file

    assert sqlite_file(make_url(url)) == expected


def test_citizen_posts_work_on_a_uri_form_sqlite_url_and_a_read_only_one_is_a_503(tmp_path):
    from app import create_app
    from tests.conftest import _test_config
    from tests.public.conftest import build_org

    path = tmp_path / "uri.db"

    def app_on(query: str):
        return create_app(_test_config(f"sqlite:///file:{path}?{query}&uri=true", tmp_path / "instance"))

    writable = app_on("mode=rwc")
    with writable.app_context():
        db.create_all()
        token = build_org().short.qr_token
        client = writable.test_client()
        fields = open_form(client, f"/s/{token}")
        reply = client.post(f"/s/{token}", data={**fields, **SHORT_ANSWERS})
        assert reply.status_code == 303
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
        db.session.remove()
        db.engine.dispose()
    assert (tmp_path / "uri.db.writers").exists()  # the writers' turn file beside the database itself
    read_only = app_on("mode=ro")
    with read_only.app_context():
        client = read_only.test_client()
        fields = open_form(client, f"/s/{token}")
        reply = client.post(f"/s/{token}", data={**fields, **SHORT_ANSWERS})
        html = reply.get_data(as_text=True)
        assert reply.status_code == 503  # the database cannot take the answer: the form comes back
        assert f'name="nonce" value="{fields["nonce"]}"' in html
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
        db.session.remove()
        db.engine.dispose()


def test_the_cli_import_refuses_a_file_with_a_control_character(runner, tmp_path):
    bad = tmp_path / "responses.csv"
    bad.write_text("response_id,agency\nr1,T\x0001\n", encoding="utf-8")
    result = runner.invoke(args=["responses", "import", str(bad)])
    assert result.exit_code == 1
    assert "responses.csv: line 2 holds a control character (U+0000)" in result.output
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0


@pytest.mark.parametrize("field", ["service", "version_id", "answered_at"])
@pytest.mark.parametrize("value", [str(MAX_ID + 1), "999999999999", "²", "१२", "-1"])
def test_numbers_a_citizen_form_carries_are_checked_before_any_query(client, org, field, value):
    for path in (f"/s/{org.full.qr_token}", f"/k/{org.full.qr_token}"):
        fields = open_form(client, path)
        reply = client.post(path, data={**fields, **SHORT_ANSWERS, field: value})
        # A service no counter offers is a form error, a version no form showed an outdated form, a
        # kiosk time nobody can believe is ignored: never a 500.
        assert reply.status_code in (303, 422), (path, field, value, reply.status_code)
    assert db.session.scalar(select(func.count()).select_from(Response)) <= 2


@pytest.mark.parametrize("text", ["²", "１", "0" * 50, str(MAX_ID + 1), "-3", " 4", "4\n"])
def test_whole_numbers_are_ascii_digits_in_range(text):
    from app.inputs import id_number, whole_number

    assert id_number(text) is None
    assert whole_number(text, 0, MAX_ID) is None or text == "0" * 50
    assert whole_number("12", 1, 12) == 12 and whole_number("13", 1, 12) is None
