"""Responses as SPSS and Stata files (issue 17, part 6): `flask responses export --format sav|dta`
and the reports' download links, read back with pyreadstat and with pandas: values, variable labels
(question text) and value labels (the scale's and options' words) in the chosen language."""

from __future__ import annotations

import html
import io
import re

import pandas as pd
import pyreadstat
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Response
from app.services.exchange.responses_csv import import_responses
from app.services.exchange.review import void_response
from app.services.questionnaires.versions import load_standard_questionnaires
from tests.admin.conftest import login_as, make_user, tree  # noqa: F401  (fixture)

HEADER = "response_id,survey,agency,channel,submitted_at,verified,E1_1,E2_1,OVERALL,EXPECT,COMMENT,GENDER\n"
ROWS = ("s-1,sipas-2017,X1,qr,2025-05-02T08:30:00+07:00,yes,5,4,5,,Rất tốt,f\n"
        "s-2,sipas-2017,X1,paper,2025-05-03T09:00:00+07:00,no,2,,3,,,m\n"
        "s-3,sipas-2017,X1,paper,2025-05-04T10:00:00+07:00,no,1,1,1,,phiếu thử,\n")
E1_1_VI = "Nơi ngồi chờ tại Bộ phận tiếp nhận và trả kết quả có đủ chỗ ngồi"


@pytest.fixture
def stored(tree):  # noqa: F811
    load_standard_questionnaires()
    db.session.commit()
    report = import_responses(io.StringIO(HEADER + ROWS, newline=""), "s.csv")
    assert report.ok, report.errors
    db.session.commit()


def _check(path, fmt: str, lang: str, uids=("s-1", "s-2", "s-3")):
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    frame, meta = reader(str(path))
    assert list(frame["response_id"]) == list(uids)
    assert list(frame["E1_1"]) == [5.0, 2.0, 1.0][:len(uids)]
    assert frame["E2_1"].isna().tolist() == [False, True, False][:len(uids)]
    assert list(frame["COMMENT"]) == ["Rất tốt", "", "phiếu thử"][:len(uids)]
    assert list(frame["verified"]) == [1.0, 0.0, 0.0][:len(uids)]
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    e1_labels = meta.variable_value_labels["E1_1"]
    gender = meta.variable_value_labels["GENDER"]
    if lang == "vi":
        assert labels["E1_1"] == E1_1_VI
        assert e1_labels == {1: "Rất không hài lòng", 2: "Không hài lòng", 3: "Bình thường", 4: "Hài lòng",
                             5: "Rất hài lòng"}
        assert gender == {1: "Nam", 2: "Nữ"}
        assert labels["verified"] == "Phiếu đã xác thực"
    else:
        assert e1_labels[5] == "Very satisfied" and gender == {1: "Male", 2: "Female"}
        assert labels["GENDER"] == "Gender"
    assert list(frame["GENDER"].iloc[:2]) == [2.0, 1.0]
    # pandas reads the same values, and applies the value labels as categories.
    if fmt == "sav":
        other = pd.read_spss(str(path))
    else:
        other = pd.read_stata(str(path))
    assert list(other["response_id"]) == list(uids)
    expected_word = "Rất hài lòng" if lang == "vi" else "Very satisfied"
    assert other["E1_1"].iloc[0] == expected_word
    if fmt == "dta":
        with pd.io.stata.StataReader(str(path)) as stata:
            assert stata.variable_labels()["GENDER"] == labels["GENDER"]


@pytest.mark.parametrize("fmt, lang", [("sav", "vi"), ("sav", "en"), ("dta", "vi"), ("dta", "en")])
def test_cli_export_reads_back_with_labels(runner, stored, tmp_path, fmt, lang):
    path = tmp_path / f"out.{fmt}"
    result = runner.invoke(args=["responses", "export", "--survey", "sipas-2017", "--format", fmt,
                                 "--lang", lang, "--output", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 responses" in result.output
    _check(path, fmt, lang)


def test_cli_refuses_a_binary_file_on_the_terminal_and_an_unknown_survey(runner, stored, tmp_path):
    result = runner.invoke(args=["responses", "export", "--survey", "sipas-2017", "--format", "sav"])
    assert result.exit_code == 1 and "--output" in result.output
    bad = runner.invoke(args=["responses", "export", "--survey", "nope", "--format", "dta",
                              "--output", str(tmp_path / "x.dta")])
    assert bad.exit_code == 1 and "unknown questionnaire code 'nope'" in bad.output


def test_voided_responses_are_not_exported(runner, stored, tmp_path):
    response = db.session.scalar(select(Response).where(Response.uid == "s-3"))
    void_response(response, make_user("stat-admin@example.org", "administrator"), "test entry")
    db.session.commit()
    path = tmp_path / "out.sav"
    assert runner.invoke(args=["responses", "export", "--survey", "sipas-2017", "--format", "sav",
                               "--output", str(path)]).exit_code == 0
    _check(path, "sav", "vi", uids=("s-1", "s-2"))


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_report_download_links(client, tree, stored, tmp_path, fmt):  # noqa: F811
    login_as(client, tree.users["administrator"])
    page = client.get(f"/reports/overview?agency={tree.province.id}&questionnaire=sipas-2017&start=2025-05"
                      "&end=2025-05&lang=en")
    link = re.search(rf'id="export-{fmt}" href="([^"]+)"', page.get_data(as_text=True))
    assert link, "the download link sits beside the CSV's"
    response = client.get(html.unescape(link.group(1)))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(f'.{fmt}"')
    path = tmp_path / f"web.{fmt}"
    path.write_bytes(response.get_data())
    _check(path, fmt, "en")
