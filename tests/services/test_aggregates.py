"""Database aggregates agree with the same sums computed in Python from the export."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Agency
from app.services.aggregates import criterion_totals
from app.services.questionnaires import latest_published, questionnaire_of
from app.services.responses_csv import ExportFilter, export_rows, write_csv


def test_criterion_totals_match_the_exported_rows(demo):
    version = latest_published("sipas-2017")
    questionnaire = questionnaire_of(version)
    totals = criterion_totals(version.id, questionnaire, by=("agency",), rating_sums=True)
    buffer = io.StringIO()
    write_csv(export_rows(ExportFilter("sipas-2017"), "UTC"), buffer)
    agency_ids = dict(db.session.execute(select(Agency.code, Agency.id)).all())
    expected = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    for row in csv.DictReader(io.StringIO(buffer.getvalue())):
        weight = float(row["weight"] or 1)
        for code in questionnaire.likert_codes():
            if row[code]:
                rating = int(row[code])
                cell = expected[(agency_ids[row["agency"]], code)]
                cell[0] += 1
                cell[1] += weight
                cell[2] += weight * (rating >= 4)
                cell[3] += weight * rating
    got = {(t.group[0], t.code): [t.answered, t.w_answered, t.w_satisfied, t.w_rating_sum]
           for t in totals if t.answered}
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        assert got[key][0] == values[0]
        assert got[key][1:] == pytest.approx(values[1:], rel=1e-9)


def test_unweighted_totals_count_responses(demo):
    version = latest_published("sipas-short")
    totals = criterion_totals(version.id, questionnaire_of(version), by=("channel",), weighted=False)
    assert totals and all(t.w_answered == t.answered for t in totals)
    assert all(0 < t.w_satisfied < t.w_answered for t in totals if t.answered > 50)
