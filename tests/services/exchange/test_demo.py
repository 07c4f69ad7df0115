"""The demo province: size, realism, determinism."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.models import Agency, Response, ServicePoint
from app.services.exchange.demo import build_demo
from app.services.exchange.responses_csv import ExportFilter, export_rows, write_csv


def _export(survey: str) -> str:
    buffer = io.StringIO()
    write_csv(export_rows(ExportFilter(survey), "Asia/Ho_Chi_Minh"), buffer)
    return buffer.getvalue()


def test_demo_province_shape(demo):
    levels = dict(db.session.execute(select(Agency.level, func.count()).group_by(Agency.level)).all())
    assert levels == {"province": 1, "department": 20, "district": 9, "commune": 100}
    assert demo.responses == db.session.scalar(select(func.count()).select_from(Response)) == 2000
    counters_without_services = db.session.scalar(
        select(func.count()).select_from(ServicePoint).where(~ServicePoint.services.any())
    )
    assert counters_without_services == 0


def test_demo_has_design_columns_missing_items_and_twelve_months(demo):
    rows = db.session.execute(select(Response.stratum, Response.psu, Response.weight,
                                     Response.submitted_at, Response.r21)).all()
    assert all(r.stratum and r.psu and r.weight > 0 for r in rows)
    months = {r.submitted_at.astimezone().strftime("%Y-%m") for r in rows}
    assert 11 <= len(months) <= 13
    # E5 items (slots 19-22 in sipas-2017) are often unanswered.
    assert 0.05 < sum(r.r21 is None for r in rows) / len(rows) < 0.5


def test_demo_elements_differ_believably(demo):
    text = _export("sipas-2017").splitlines()
    header = text[0].split(",")
    rows = [line.split(",") for line in text[1:]]

    def satisfied_share(prefix: str) -> float:
        cols = [i for i, name in enumerate(header) if name.startswith(prefix) and "GEN" not in name]
        cells = [row[i] for row in rows for i in cols if row[i]]
        return sum(cell in ("4", "5") for cell in cells) / len(cells)

    staff, feedback = satisfied_share("E3_"), satisfied_share("E5_")
    assert 0.7 < staff < 0.97 and 0.35 < feedback < staff - 0.1


def test_demo_is_deterministic_with_seed(app):
    build_demo(seed=11, responses=300, end_month=date(2025, 6, 1))
    db.session.commit()
    first = _export("sipas-2017")
    tokens = set(db.session.scalars(select(ServicePoint.code)))
    for table in ("report_cell", "response", "service_point_service", "service_point", "service", "agency"):
        db.session.execute(db.text(f"DELETE FROM {table}"))  # noqa: S608
    db.session.commit()
    build_demo(seed=11, responses=300, end_month=date(2025, 6, 1))
    db.session.commit()
    assert _export("sipas-2017") == first
    assert set(db.session.scalars(select(ServicePoint.code))) == tokens


def test_demo_command_refuses_a_populated_database(runner, demo):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1 and "already has agencies" in result.output
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0 and "nothing done" in result.output
