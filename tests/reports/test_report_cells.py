"""Report cells: every writer keeps them equal to a GROUP BY over the responses themselves."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import ReportCell, ReportCellsBuilt, Response
from app.services.exchange.responses_csv import import_responses
from app.services.questionnaires.versions import latest_published, questionnaire_of
from app.services.reports import cells as report_cells
from app.services.reports import estimates as rs
from app.services.reports import pages
from app.services.reports.aggregates import psu_totals_table
from tests.public.conftest import post_form

KEYS = ("agency", "month", "stratum", "psu")


def _sorted(table: dict) -> dict:
    order = np.lexsort([table[k].astype(str) for k in reversed(KEYS)])
    return {name: values[order] for name, values in table.items()}


def assert_cells_equal_responses(version, where_cells=(), where_responses=(), weighted=True):
    questionnaire = questionnaire_of(version)
    direct = _sorted(psu_totals_table(version.id, questionnaire, by=("agency", "month"),
                                      where=list(where_responses), weighted=weighted))
    cells = _sorted(report_cells.cells_table(version.id, questionnaire, list(where_cells), weighted))
    assert cells.pop("inside").all()
    assert sorted(direct) == sorted(cells)
    assert len(cells["n"]) > 0
    for name in direct:
        if name in KEYS:
            assert [str(v) for v in cells[name]] == [str(v) for v in direct[name]], name
        else:
            np.testing.assert_allclose(cells[name], direct[name], rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("condition", ["none", "not suspicious", "verified", "channel"])
def test_cells_written_with_the_demo_equal_a_group_by_over_responses(province, weighted, condition):
    version = latest_published("sipas-2017")
    cells, rows = {
        "none": ([], []),
        "not suspicious": ([ReportCell.suspicious.is_(False)], [Response.suspicious.is_(False)]),
        "verified": ([ReportCell.verified.is_(True)], [Response.verified.is_(True)]),
        "channel": ([ReportCell.channel == "paper"], [Response.channel == "paper"]),
    }[condition]
    assert_cells_equal_responses(version, cells, rows, weighted)


def test_a_citizen_submission_is_in_the_cells_of_its_transaction(app, client):
    from tests.public.conftest import build_org

    org = build_org()
    version = org.short_version
    before = db.session.scalar(select(func.coalesce(func.sum(ReportCell.n), 0))
                               .where(ReportCell.version_id == version.id))
    for _ in range(3):
        assert post_form(client, f"/s/{org.short.qr_token}").status_code == 303
    db.session.expire_all()
    after = db.session.scalar(select(func.sum(ReportCell.n)).where(ReportCell.version_id == version.id))
    assert after == before + 3
    assert_cells_equal_responses(version)


def test_imported_responses_are_in_the_cells(province, runner, tmp_path):
    version = latest_published("sipas-2017")
    exported = tmp_path / "all.csv"
    result = runner.invoke(args=["responses", "export", "--survey", "sipas-2017", "-o", str(exported)])
    assert result.exit_code == 0, result.output
    lines = exported.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    header = next(csv.reader(lines[:1]))
    rows = [next(csv.reader([line])) for line in lines[1:41]]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    for row in rows:
        row[header.index("response_id")] = "copy-" + row[header.index("response_id")]
        writer.writerow(row)
    report = import_responses(io.StringIO(text.getvalue()), "copy.csv")
    assert report.ok and report.stored == 40, report
    db.session.commit()
    assert_cells_equal_responses(version)


def test_ensure_built_builds_once_and_rebuild_picks_up_hand_edits(province, runner):
    version = latest_published("sipas-2017")
    db.session.execute(delete(ReportCellsBuilt))
    db.session.execute(delete(ReportCell).where(ReportCell.version_id == version.id))
    db.session.commit()
    assert report_cells.ensure_built(version.id) is True
    assert report_cells.ensure_built(version.id) is False
    assert_cells_equal_responses(version)
    # A response deleted by hand in the database: only a rebuild can know.
    root = province.district.id
    before = pages.build_overview(root, rs.ReportFilters()).record("OVERALL")["n"]
    victim = db.session.scalar(select(Response).where(
        Response.agency_id == root, Response.suspicious.is_(False), Response.r1.is_not(None)).limit(1))
    db.session.delete(victim)
    db.session.commit()
    result = runner.invoke(args=["reports", "rebuild"])
    assert result.exit_code == 0 and "sipas-2017 v" in result.output, result.output
    assert pages.build_overview(root, rs.ReportFilters()).record("OVERALL")["n"] == before - 1
    assert_cells_equal_responses(version)


@pytest.mark.parametrize("args", [{}, {"channel": "paper"}, {"verified": "1"}, {"suspicious": "1"},
                                  {"start": "2025-03", "end": "2025-05"}])
def test_response_counts_from_cells_equal_counting_responses(province, args):
    filters = rs.ReportFilters.from_args(args)
    overview = pages.build_overview(province.province.id, filters)
    scope = overview.scope
    start, end = pages.month_start(scope.start), pages.month_start(rs.shift_month(scope.end, 1))
    counted = db.session.execute(
        select(func.count(), func.sum(func.cast(Response.verified, db.Integer)))
        .where(Response.agency_id.in_(scope.ids), Response.version_id.in_(scope.version_ids),
               Response.submitted_at >= start, Response.submitted_at < end, *filters.where())).one()
    assert counted[0] > 0
    assert (overview.responses, overview.verified) == (counted[0], counted[1] or 0)


@pytest.mark.parametrize("bound", ["largest id", "too small"])
def test_counts_packed_into_integers_come_back_exact(province, monkeypatch, bound):
    # Counts travel several to an integer; a width too narrow for some cell's n is noticed, and the
    # cells are read again unpacked.
    if bound == "too small":
        monkeypatch.setattr(report_cells, "_count_bound", lambda: 1)
    version = latest_published("sipas-2017")
    for weighted in (True, False):
        assert_cells_equal_responses(version, weighted=weighted)
    # Some agency × month × stratum × PSU has cells of several channels or flags, which are added up.
    cells = db.session.scalar(select(func.count()).select_from(ReportCell)
                              .where(ReportCell.version_id == version.id))
    rows = len(report_cells.cells_table(version.id, questionnaire_of(version))["n"])
    assert cells > rows
