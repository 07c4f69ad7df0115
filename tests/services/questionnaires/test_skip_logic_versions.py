"""SIPAS-2017 version 2 on an install that published version 1 (issue 17, part 4): `flask surveys load`
(which `make run` calls at every start) publishes version 2 beside version 1, which stays unchanged,
and counters show version 2 from then on. A responses CSV that answers a question its own row makes
not applicable is refused with row and column."""

from __future__ import annotations

import csv
from pathlib import Path

import yaml
from sqlalchemy import select

from analysis.questionnaire import parse_questionnaire
from app.extensions import db
from app.models import QuestionnaireVersion, Response
from app.services.questionnaires.versions import latest_published, publish_questionnaire

SURVEYS = sorted(str(p) for p in (Path(__file__).parents[3] / "surveys").glob("*.yaml"))
SIPAS = Path(__file__).parents[3] / "surveys" / "sipas-2017.yaml"


def version_1() -> dict:
    """SIPAS-2017 as version 1 shipped it: no FEEDBACK question, no conditions."""
    document = yaml.safe_load(SIPAS.read_text(encoding="utf-8"))
    document["version"] = 1
    for element in document["elements"]:
        element["questions"] = [q for q in element["questions"] if q["code"] != "FEEDBACK"]
    for question in [q for e in document["elements"] for q in e["questions"]] + document["questions"]:
        question.pop("show_if", None)
    return document


def test_load_on_an_install_with_version_1_publishes_version_2_beside_it(runner):
    old, created = publish_questionnaire(parse_questionnaire(version_1(), "v1"))
    db.session.commit()
    assert created and old.version == 1
    stored_v1 = dict(old.definition)
    result = runner.invoke(args=["surveys", "load", *SURVEYS])
    assert result.exit_code == 0, result.output
    versions = db.session.scalars(select(QuestionnaireVersion).join(QuestionnaireVersion.questionnaire)
                                  .where(QuestionnaireVersion.questionnaire_id == old.questionnaire_id)
                                  .order_by(QuestionnaireVersion.version)).all()
    assert [(v.version, v.status) for v in versions] == [(1, "published"), (2, "published")]
    assert versions[0].definition == stored_v1  # immutable
    assert latest_published("sipas-2017").version == 2
    assert "FEEDBACK" not in str(stored_v1) and "FEEDBACK" in str(versions[1].definition)
    # the next start loads the same files again: nothing changes
    again = runner.invoke(args=["surveys", "load", *SURVEYS])
    assert again.exit_code == 0 and "already published, unchanged" in again.output


ROW = {
    "response_id": "s-1", "survey": "sipas-2017", "survey_version": "2", "agency": "DEMO-H01-X01",
    "channel": "paper", "submitted_at": "2025-05-02T08:30:00+07:00", "FEEDBACK": "no", "E5_1": "",
    "E5_GEN": "", "OVERALL": "4",
}


def _write(tmp_path, rows):
    path = tmp_path / "in.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_responses_csv_answering_a_skipped_question_is_refused(runner, demo, tmp_path):
    before = db.session.scalar(select(db.func.count(Response.id)))
    rows = [dict(ROW), {**ROW, "response_id": "s-2", "E5_1": "1"}, {**ROW, "response_id": "s-3",
                                                                     "FEEDBACK": "", "E5_GEN": "2"}]
    result = runner.invoke(args=["responses", "import", str(_write(tmp_path, rows))])
    assert result.exit_code == 1
    assert ("row 3, column E5_1: this question does not apply to this response (it is asked only when "
            "FEEDBACK = yes); leave the cell empty") in result.output
    assert "row 4, column E5_GEN: this question does not apply" in result.output
    assert "row 2," not in result.output
    assert db.session.scalar(select(db.func.count(Response.id))) == before
    good = [dict(ROW), {**ROW, "response_id": "s-2", "FEEDBACK": "yes", "E5_1": "1"}]
    result = runner.invoke(args=["responses", "import", str(_write(tmp_path, good))])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(db.func.count(Response.id))) == before + 2

