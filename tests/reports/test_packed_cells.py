"""Packed report cells (issue 15, item 7): the reports' table from the packs equals the cells', to the bit.

A cold report reads each month's cells from their packed columns (ReportCellColumn)
unless a writer touched them since; these tests compare every column of the aggregate
table read both ways, exactly, before and after a new response and a voided one.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ReportCell, ReportCellColumn, Response
from app.services.exchange.review import void_response
from app.services.questionnaires.versions import latest_published, questionnaire_of
from app.services.reports import cells as report_cells
from app.services.reports import estimates as rs
from app.services.reports import pages

KEYS = ("agency", "month", "stratum", "psu")
CONDITIONS = {
    "none": ([], []),
    "not suspicious": ([ReportCell.suspicious.is_(False)], []),
    "verified domain": ([ReportCell.suspicious.is_(False)], [ReportCell.verified.is_(True)]),
    "channel domain": ([], [ReportCell.channel == "paper"]),
}


def _spy_on_whole_reads(monkeypatch) -> list:
    """The months argument of every read of whole months from the cells (None: all months)."""
    whole = []
    real = report_cells._live_months

    def spy(version_id, names, months=None, touched_after=None):
        if touched_after is None:
            whole.append(months)
        return real(version_id, names, months, touched_after)

    monkeypatch.setattr(report_cells, "_live_months", spy)
    return whole


@pytest.fixture
def settled(app, monkeypatch):
    """Cells count as settled at once (the margin guards against transactions still committing)."""
    monkeypatch.setitem(app.config, "REPORT_CELLS_SETTLE_SECONDS", 0.0)
    monkeypatch.setitem(app.config, "REPORT_CELLS_REPACK_CELLS", 0)  # and packed again at the first touch
    return _spy_on_whole_reads(monkeypatch)


def assert_same_both_ways(version, where=(), domain=(), weighted=True, rating_sums=True, verified=True):
    questionnaire = questionnaire_of(version)
    options = {"weighted": weighted, "domain": list(domain), "rating_sums": rating_sums, "verified": verified}
    cells = report_cells.cells_table(version.id, questionnaire, list(where), packed_columns=False, **options)
    packed = report_cells.cells_table(version.id, questionnaire, list(where), packed_columns=True, **options)
    assert sorted(cells) == sorted(packed)
    assert len(cells["n"]) > 0
    for name in cells:
        if name in KEYS:
            assert [str(v) for v in packed[name]] == [str(v) for v in cells[name]], name
        else:
            np.testing.assert_array_equal(packed[name], cells[name], err_msg=name)


def _packed_months(version_id: int) -> dict[str, float]:
    return dict(db.session.execute(
        select(ReportCellColumn.month, func.min(ReportCellColumn.packed_at))
        .where(ReportCellColumn.version_id == version_id).group_by(ReportCellColumn.month)).all())


def _overview_records(root: int, filters: rs.ReportFilters, packed: bool, monkeypatch) -> list[dict]:
    real = report_cells.cells_table
    monkeypatch.setattr(report_cells, "cells_table",
                        lambda *args, **kwargs: real(*args, **kwargs, packed_columns=packed))
    rs.invalidate()
    overview = pages.build_overview(root, filters)
    monkeypatch.setattr(report_cells, "cells_table", real)
    return [overview.records, overview.trend, overview.change, overview.responses, overview.verified]


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("condition", sorted(CONDITIONS))
def test_packed_cells_equal_the_cells(province, settled, weighted, condition):
    version = latest_published("sipas-2017")
    where, domain = CONDITIONS[condition]
    # The first read finds no pack: every month is read from the cells, then packed.
    assert_same_both_ways(version, where, domain, weighted)
    assert settled == [None]
    months = db.session.scalars(select(ReportCell.month).where(ReportCell.version_id == version.id)
                                .distinct()).all()
    assert sorted(_packed_months(version.id)) == sorted(months)
    # The second comes from the packs alone.
    assert_same_both_ways(version, where, domain, weighted, rating_sums=False)
    assert settled == [None]


def test_a_new_and_a_voided_response_reread_their_months_only(province, settled, monkeypatch):
    version = latest_published("sipas-2017")
    root = province.province.id
    report_cells.ensure_built(version.id)  # as a report does first: from then on a void leaves its cell
    assert_same_both_ways(version, [ReportCell.suspicious.is_(False)])
    packed = _packed_months(version.id)
    assert len(packed) >= 12 and settled == [None]

    # A citizen's answer in a month already packed: its cell is read and put into the pack, which
    # is stored again (its touch has settled at once here); no month is read whole.
    response = Response(uid="packed-late", version_id=version.id, agency_id=province.district.id,
                        channel="qr", submitted_at=datetime(2025, 6, 20, 3, tzinfo=UTC), r1=5, answers={})
    db.session.add(response)
    db.session.flush()
    report_cells.add_response(version.id, response.id)
    db.session.commit()
    time.sleep(0.01)  # the database's clock moves on past the touch (a margin of 0 s is strict)
    settled.clear()
    assert_same_both_ways(version, [ReportCell.suspicious.is_(False)])
    assert settled == []
    after = _packed_months(version.id)
    assert after["2025-06"] > packed["2025-06"]
    assert all(after[month] >= packed[month] for month in packed)
    assert_same_both_ways(version)
    assert settled == []

    # A voided response leaves its cell (which may go altogether): its month is stale at once.
    victim = db.session.scalar(select(Response).where(
        Response.version_id == version.id, Response.voided_at.is_(None),
        Response.submitted_at >= datetime(2025, 3, 1, tzinfo=UTC),
        Response.submitted_at < datetime(2025, 3, 28, tzinfo=UTC)).limit(1))
    void_response(victim, province.users["province"], "entered twice")
    db.session.commit()
    assert _packed_months(version.id)["2025-03"] < 0
    settled.clear()
    assert_same_both_ways(version, [ReportCell.suspicious.is_(False)], [ReportCell.channel == "qr"])
    assert settled == [["2025-03"]]

    # The overview's numbers (indices, intervals, trend, change, counts) are the same either way.
    for args in ({}, {"weighting": "unweighted"}, {"channel": "paper", "suspicious": "1"}):
        filters = rs.ReportFilters.from_args(args)
        # repr: exact for floats, and NaN (a suppressed interval) equals itself.
        assert (repr(_overview_records(root, filters, True, monkeypatch))
                == repr(_overview_records(root, filters, False, monkeypatch))), args


def test_cells_touched_within_the_margin_are_read_again_on_top_of_their_packs(province, monkeypatch):
    version = latest_published("sipas-2017")
    whole = _spy_on_whole_reads(monkeypatch)
    # The demo's cells were just written: packed at the first read, and while their touches are
    # within the (default) margin every later read takes them from the cells again.
    assert_same_both_ways(version)
    assert whole == [None]
    assert len(_packed_months(version.id)) >= 12
    delta = []
    real = report_cells._live_months
    monkeypatch.setattr(report_cells, "_live_months", lambda *args, **kwargs: delta.append(
        kwargs.get("touched_after")) or real(*args, **kwargs))
    assert_same_both_ways(version, [ReportCell.suspicious.is_(False)], [ReportCell.verified.is_(True)])
    assert len(delta) == 1 and delta[0] is not None


def test_one_new_response_is_read_on_top_of_its_pack_which_is_not_written_again(province, app, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_CELLS_SETTLE_SECONDS", 0.0)
    version = latest_published("sipas-2017")
    assert_same_both_ways(version)
    packed = _packed_months(version.id)
    response = Response(uid="packed-one", version_id=version.id, agency_id=province.other_district.id,
                        channel="paper", submitted_at=datetime(2025, 9, 9, 9, tzinfo=UTC), r1=2, answers={})
    db.session.add(response)
    db.session.flush()
    report_cells.add_response(version.id, response.id)
    db.session.commit()
    time.sleep(0.01)
    whole = _spy_on_whole_reads(monkeypatch)
    assert_same_both_ways(version, [ReportCell.suspicious.is_(False)], [ReportCell.channel == "paper"])
    # Fewer touched cells than REPACK_CELLS: the packs stay as they were, no month is read whole.
    assert whole == []
    assert _packed_months(version.id) == packed
