"""Paper entry and skip logic (issue 17, part 4): each conditional question says when to leave it empty,
and an answer typed for a question whose condition is not met is not stored."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Response, slot_column
from app.services.questionnaires.versions import (
    SURVEYS_DIR,
    publish_questionnaire,
    questionnaire_of,
    rating_slots,
    validate_file,
)
from tests.admin.conftest import login_as


def test_paper_entry_says_which_questions_to_leave_empty_and_drops_them(client, tree):
    version, _ = publish_questionnaire(validate_file(SURVEYS_DIR / "sipas-2017.yaml"))
    tree.counter_in.questionnaire_id = version.questionnaire_id
    db.session.commit()
    login_as(client, tree.users["manager"])
    url = f"/admin/responses/paper?counter_id={tree.counter_in.id}"
    page = client.get(url + "&lang=vi").get_data(as_text=True)
    assert page.count("(chỉ khi FEEDBACK = yes; nếu không thì để trống)") == 5
    english = client.get(url + "&lang=en").get_data(as_text=True)
    assert english.count("(only if FEEDBACK = yes; otherwise leave it empty)") == 5
    form = {"counter_id": tree.counter_in.id, "nonce": "p" * 22, "FEEDBACK": "no", "E5_1": "1",
            "OVERALL": "4"}
    assert client.post("/admin/responses/paper?lang=en", data=form).status_code == 302
    [row] = db.session.scalars(select(Response)).all()
    slots = rating_slots(questionnaire_of(version))
    assert row.answers == {"FEEDBACK": False}
    assert getattr(row, slot_column(slots["E5_1"])) is None
    assert getattr(row, slot_column(slots["OVERALL"])) == 4
