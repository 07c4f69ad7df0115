"""Database aggregates agree with the same sums computed in Python from the export."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Agency
from app.services.exchange.responses_csv import ExportFilter, export_rows, write_csv
from app.services.questionnaires.versions import latest_published, questionnaire_of
from app.services.reports.aggregates import criterion_totals


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


def test_psu_totals_table_gives_the_same_indices_as_the_csv_path(demo, tmp_path):
    """Database GROUP BY and analysis' row-level reduction must give identical estimates."""
    from analysis import IndexSpec, estimate_indices, totals_from_table
    from analysis.io import read_responses, responses_to_totals
    from app.services.reports.aggregates import psu_totals_table

    version = latest_published("sipas-2017")
    questionnaire = questionnaire_of(version)
    spec = IndexSpec.from_questionnaire(questionnaire)
    table = psu_totals_table(version.id, questionnaire, by=("agency",))
    codes = dict(db.session.execute(select(Agency.id, Agency.code)).all())
    table["agency"] = [codes[a] for a in table["agency"]]
    from_db = estimate_indices(totals_from_table(table, spec, by=["agency"])).records()

    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        write_csv(export_rows(ExportFilter("sipas-2017"), "UTC"), stream)
    columns = read_responses(path, spec, by=["agency"])
    from_csv = estimate_indices(responses_to_totals(columns, spec)).records()

    key = lambda r: (r["by"]["agency"], r["level"], r["code"], r["measure"])  # noqa: E731
    from_db, from_csv = sorted(from_db, key=key), sorted(from_csv, key=key)
    assert [key(r) for r in from_db] == [key(r) for r in from_csv]
    for a, b in zip(from_db, from_csv, strict=True):
        assert a["n"] == b["n"] and a["df"] == b["df"]
        assert a.get("flags") == b.get("flags")
        for field in ("estimate", "se", "ci_low", "ci_high"):
            if b[field] is None:
                assert a[field] is None, (key(a), field)
            else:
                assert a[field] == pytest.approx(b[field], rel=1e-9, abs=1e-12), (key(a), field)
    assert sum(r["estimate"] is not None for r in from_db) > 0.9 * len(from_db)
