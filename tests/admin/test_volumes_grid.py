"""Dossier volumes in a monthly grid per agency (a bad cell is marked, the others stored), and
`flask volumes import FILE` / `flask volumes export` (all rows or none, every error listed)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, DossierVolume
from tests.admin.conftest import login_as


def _figures() -> dict[tuple[int | None, date], int]:
    return {(v.service_point_id, v.month): v.dossiers for v in db.session.scalars(select(DossierVolume))}


def test_grid_stores_good_cells_and_marks_a_negative_or_non_numeric_one(client, tree):
    login_as(client, tree.users["manager"])
    url = f"/admin/volumes/grid?agency={tree.commune.id}&year=2025"
    page = client.get(url + "&lang=en").get_data(as_text=True)
    counter = tree.counter_in
    assert "Agency total" in page and counter.name("en") in page
    assert 'name="v-a-1"' in page and f'name="v-{counter.id}-12"' in page
    response = client.post(url + "&lang=en", data={
        "v-a-1": "120", "v-a-2": "1 300", f"v-{counter.id}-1": "40",
        "v-a-3": "-5", f"v-{counter.id}-2": "abc"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # The bad cells keep what was typed, are marked and say why; the good ones were stored.
    assert 'id="v-a-3" name="v-a-3" value="-5"' in html
    assert 'aria-invalid="true" aria-describedby="v-a-3-error"' in html
    assert 'value="abc"' in html and "expected a whole number" in html and "must be between 0 and" in html
    assert "2 cells could not be saved" in html
    assert _figures() == {(None, date(2025, 1, 1)): 120, (None, date(2025, 2, 1)): 1300,
                          (counter.id, date(2025, 1, 1)): 40}
    # In Vietnamese, the same cells in words.
    vi = client.post(url + "&lang=vi", data={"v-a-3": "x"}).get_data(as_text=True)
    assert "cần một số nguyên" in vi and "1 ô chưa lưu được" in vi
    # Changing and emptying cells: a change replaces the figure, an emptied cell removes it.
    ok = client.post(url, data={"v-a-1": "150", "v-a-2": "", f"v-{counter.id}-1": "40"})
    assert ok.status_code == 302
    assert _figures() == {(None, date(2025, 1, 1)): 150, (counter.id, date(2025, 1, 1)): 40}
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "volumes.grid")).all()
    assert events and events[-1].detail["changed"] == 2


def test_grid_is_scoped(client, tree):
    login_as(client, tree.users["manager"])
    assert client.get(f"/admin/volumes/grid?agency={tree.department.id}").status_code == 403
    url = f"/admin/volumes/grid?agency={tree.department.id}"
    assert client.post(url, data={"v-a-1": "3"}).status_code == 403
    assert _figures() == {}
    login_as(client, tree.users["leader"])
    assert client.get(f"/admin/volumes/grid?agency={tree.commune.id}").status_code == 403


def test_grid_ignores_foreign_rows_and_months(client, tree):
    login_as(client, tree.users["administrator"])
    url = f"/admin/volumes/grid?agency={tree.commune.id}&year=2025"
    other = tree.counter_out.id  # a counter of another agency: not a row of this grid
    response = client.post(url, data={f"v-{other}-1": "5", "v-a-13": "5", "v-a-0": "5", "v-a-1": "7"})
    assert response.status_code == 302
    assert _figures() == {(None, date(2025, 1, 1)): 7}


def test_cli_import_all_or_nothing_then_export_round_trip(runner, tree, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("agency,service_point,month,dossiers\nX1,,2025-06,120\nNOPE,,2025-13,-1\n"
                   "X1,D1-Q1,2025-07,x\n", encoding="utf-8")
    result = runner.invoke(args=["volumes", "import", str(bad)])
    assert result.exit_code == 1
    for expected in ("bad.csv: row 3, column agency: unknown agency 'NOPE'", "row 3, column month",
                     "row 3, column dossiers: must be between 0 and", "row 4, column service_point",
                     "row 4, column dossiers: expected a whole number", "nothing was imported"):
        assert expected in result.output, (expected, result.output)
    assert _figures() == {}
    good = tmp_path / "good.csv"
    good.write_text("agency,service_point,month,dossiers\nX1,,2025-06,120\nX1,X1-Q1,2025-06,30\n"
                    "D1,,2025-05,7\n", encoding="utf-8")
    result = runner.invoke(args=["volumes", "import", str(good)])
    assert result.exit_code == 0 and "3 figure(s) stored from 3 row(s)" in result.output
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["volumes", "export", "--output", str(out)])
    assert result.exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "agency,service_point,month,dossiers"
    assert sorted(lines[1:]) == ["D1,,2025-05,7", "X1,,2025-06,120", "X1,X1-Q1,2025-06,30"]
    scoped = runner.invoke(args=["volumes", "export", "--agency", "H1"])
    assert "D1,," not in scoped.output and "X1,,2025-06,120" in scoped.output
    assert runner.invoke(args=["volumes", "export", "--agency", "ZZ"]).exit_code == 1
    # The export imports again, unchanged.
    before = _figures()
    assert runner.invoke(args=["volumes", "import", str(out)]).exit_code == 0
    assert _figures() == before
