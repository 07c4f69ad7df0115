"""Domain labels and the shortcuts the pages take: the same as the plain computations they replace."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sqlalchemy import select

from analysis import totals_from_table
from app.extensions import db
from app.models import Questionnaire, QuestionnaireVersion, Response
from app.services.questionnaires.versions import latest_published
from app.services.reports import estimates as rs
from app.services.reports import pages


def _design(province, filters: rs.ReportFilters) -> tuple[pages.Scope, rs.Design]:
    scope = pages.open_scope(province.province.id, filters)
    assert scope.design is not None and not scope.design.empty
    return scope, scope.design


@pytest.mark.parametrize("filters", [rs.ReportFilters(), rs.ReportFilters(channel="paper")])
def test_cell_labels_are_label_of_each_row(province, filters):
    scope, design = _design(province, filters)
    tree = scope.tree

    def label_of(agency: int, month: str) -> str | None:
        unit = tree.unit_of(agency, province.province.id, None)
        return None if unit is None or month < "2025-04" else f"{unit}|{month}"

    labels = rs._cell_labels(design, label_of)
    table = design.table
    expected = [label_of(int(a), m) or rs.OUT if inside else rs.OUT
                for a, m, inside in zip(table["agency"], table["month"], table["inside"], strict=True)]
    assert labels.tolist() == expected
    assert len(set(expected)) > 10 and (not filters.channel or not table["inside"].all())


def test_answered_groups_are_the_domains_with_an_overall_n(province):
    scope, design = _design(province, rs.ReportFilters(verified_only=True))

    def label_of(agency: int, month: str) -> str | None:
        return month if agency != province.district.id else None

    domains = pages._domains(scope, design, label_of)
    expected = {r["by"]["group"] for r in rs.estimate(domains, scope.filters)
                if r["code"] == "OVERALL" and r["n"]}
    assert rs.answered_groups(domains) == expected and len(expected) == 12


def test_versions_with_responses_skip_versions_without_any(province):
    from analysis.questionnaire import parse_questionnaire
    from app.services.questionnaires.versions import publish_questionnaire, questionnaire_of

    version = latest_published("sipas-2017")
    old = questionnaire_of(version)
    publish_questionnaire(parse_questionnaire(dict(old.definition, version=old.version + 1), source="test"))
    db.session.commit()
    assert [v.id for v in rs.versions_with_responses("sipas-2017")] == [version.id]
    used = select(Response.version_id).distinct().scalar_subquery()
    expected = db.session.scalars(select(Questionnaire.code).join(QuestionnaireVersion)
                                  .where(QuestionnaireVersion.id.in_(used)).distinct().order_by(Questionnaire.code))
    assert rs.questionnaire_codes() == list(expected) and "sipas-2017" in rs.questionnaire_codes()
    assert rs.versions_with_responses("no-such-questionnaire") == []


@pytest.mark.parametrize("calibrated", [False, True])
def test_domain_totals_summed_per_psu_first_are_the_same_to_the_last_bit(province, calibrated):
    scope, design = _design(province, rs.ReportFilters(channel="qr"))
    # The demo's PSUs are small: coarser ones put many rows of a domain into one PSU.
    coarse = np.array([f"P{agency % 7}" for agency in design.table["agency"]], dtype=object)
    design = dataclasses.replace(design, table=design.table | {"psu": coarse})
    labels = rs._cell_labels(design, lambda agency, month: f"{agency % 3}|{month < '2025-07'}")
    full = {name: values for name, values in design.table.items() if name != "inside"} | {"group": labels}
    collapsed = rs._per_domain_psu(design, labels)
    assert len(collapsed["n"]) < len(full["n"]) / 2
    calibration = []
    if calibrated:
        full["pscell"], collapsed["pscell"], calibration = labels, collapsed["group"], ["pscell"]
    direct = totals_from_table(full, design.spec, by=["group"], calibration=calibration)
    ours = totals_from_table(collapsed, design.spec, by=["group"], calibration=calibration)
    for field in dataclasses.fields(direct):
        want, got = getattr(direct, field.name), getattr(ours, field.name)
        if isinstance(want, np.ndarray):
            assert want.dtype == got.dtype and np.array_equal(want, got), field.name
        elif isinstance(want, tuple) and want and isinstance(want[0], np.ndarray):
            assert all(np.array_equal(a, b) for a, b in zip(want, got, strict=True)), field.name
        else:
            assert want == got, field.name
