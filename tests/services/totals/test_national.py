"""A national installation (issue 20, item 3): units' keys, `flask totals trust` / `flask totals import`,
each refusal with its message and nothing stored, a newer file of the same period replacing the older
one (audited), and the ranking's numbers equal to `python -m analysis rollup` on the same files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from analysis.cli import main as analysis_main
from app.extensions import db
from app.models import Agency, AuditEvent, TotalsImport, TotalsUnitKey
from app.services.totals import national_ranking
from tests.admin.conftest import login_as, make_user
from tests.services.totals.national_data import (
    UNITS,
    altered_definition,
    national_installation,
    private_pem,
    public_pem,
    write_signed,
)

YEAR = ("2026-01", "2026-12")


def _rollup_cli(paths: list[Path], tmp_path: Path) -> list[dict]:
    out = tmp_path / "rollup.json"
    assert analysis_main(["rollup", *map(str, paths), "--by", "province", "--output", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))["results"]


@pytest.fixture
def keys(app):
    return national_installation(app)


def _trust(runner, tmp_path, keys, units=UNITS):
    for unit in units:
        pub = tmp_path / f"{unit}.pub"
        pub.write_bytes(public_pem(keys[unit]))
        result = runner.invoke(args=["totals", "trust", unit, str(pub)])
        assert result.exit_code == 0, result.output
        assert f"the public key of unit {unit} is registered" in result.output


def _counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(TotalsImport)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action.like("totals.%"))))


def test_three_provinces_imported_and_ranked_as_the_rollup_cli(runner, keys, tmp_path):
    _trust(runner, tmp_path, keys)
    assert db.session.scalar(select(func.count()).select_from(TotalsUnitKey)) == 3
    files = [write_signed(u, tmp_path, YEAR, seed=i, private=keys[u]) for i, u in enumerate(UNITS)]
    for f in files:
        result = runner.invoke(args=["totals", "import", str(f.path)])
        assert result.exit_code == 0, result.output
        assert "2026-01 to 2026-12" in result.output and "(new)" in result.output
    rows = db.session.scalars(select(TotalsImport).order_by(TotalsImport.id)).all()
    assert [(r.agency.code, r.active, r.period_from, r.period_to, r.questionnaire_code) for r in rows] == \
        [(u, True, "2026-01", "2026-12", "ref-survey") for u in UNITS]
    assert [r.data for r in rows] == [f.data for f in files]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("totals.%"))
                                .order_by(AuditEvent.id)).all()
    assert [(e.action, e.target) for e in events] == [("totals.key", u) for u in UNITS] + \
        [("totals.import", u) for u in UNITS]

    ranking = national_ranking(None, "en")
    cli = _rollup_cli([f.path for f in files], tmp_path)
    want = {(r["by"].get("province"), r["code"]): r for r in cli}
    got = {(r["by"].get("unit"), r["code"]): r for r in ranking.records}
    assert got.keys() == want.keys() and len(got) == 4 * 11
    for key, r in want.items():
        for name in ("estimate", "se", "ci_low", "ci_high", "n", "df"):
            assert got[key][name] == r[name], (key, name)
    assert ranking.period.key == "ref-survey:2026-01:2026-12" and ranking.period.units == 3
    assert ranking.nation["estimate"] == want[(None, "OVERALL")]["estimate"]
    by_unit = {row.code: row for row in ranking.rows}
    assert {u: by_unit[u].overall["estimate"] for u in UNITS} == \
        {u: want[(u, "OVERALL")]["estimate"] for u in UNITS}
    ranked = sorted(UNITS, key=lambda u: -want[(u, "OVERALL")]["estimate"])
    assert [row.code for row in ranking.rows] == ranked
    for i, row in enumerate(ranking.rows):
        assert row.rank == i + 1 and 1 <= row.rank_low <= row.rank <= row.rank_high <= 3
        assert row.elements["E1"]["estimate"] == want[(row.code, "E1")]["estimate"]
        assert row.criteria["E1_1"]["estimate"] == want[(row.code, "E1_1")]["estimate"]
    assert [e[0] for e in ranking.elements] == ["E1", "E2", "E3"]
    assert ranking.trend == []


@pytest.mark.parametrize("case", ["signature", "unknown", "questionnaire", "overlap", "no-key", "no-sig",
                                  "garbage"])
def test_refusals_store_nothing(runner, keys, tmp_path, case):
    _trust(runner, tmp_path, keys)
    first = write_signed("P1", tmp_path, YEAR, seed=1, private=keys["P1"])
    assert runner.invoke(args=["totals", "import", str(first.path)]).exit_code == 0
    before = _counts()
    if case == "signature":  # P2's file signed with another key than the one registered for P2
        path, message = write_signed("P2", tmp_path, YEAR, 2, private_pem()).path, \
            "the signature does not verify with unit P2's key"
    elif case == "unknown":
        keys["P9"] = private_pem()
        path, message = write_signed("P9", tmp_path, YEAR, 2, keys["P9"]).path, \
            "unknown unit P9: no active top-level agency has that code"
    elif case == "questionnaire":
        path = write_signed("P2", tmp_path, YEAR, 2, keys["P2"], definition=altered_definition()).path
        message = "questionnaire ref-survey version 1 of the file differs from the one published here"
    elif case == "overlap":
        path = write_signed("P1", tmp_path, ("2026-07", "2027-06"), 2, keys["P1"]).path
        message = "the period 2026-07 to 2027-06 overlaps unit P1's stored period 2026-01 to 2026-12"
    elif case == "no-key":
        keyless = db.session.scalar(select(TotalsUnitKey).join(Agency).where(Agency.code == "P3"))
        db.session.delete(keyless)
        db.session.commit()
        path, message = write_signed("P3", tmp_path, YEAR, 2, keys["P3"]).path, \
            "no public key is registered for unit P3"
    elif case == "no-sig":
        path = write_signed("P2", tmp_path, YEAR, 2, keys["P2"]).path
        Path(f"{path}.sig").unlink()
        message = "the signature file (FILE.parquet.sig) is missing"
    else:
        path = tmp_path / "garbage.parquet"
        path.write_bytes(b"PAR1 not really")
        message = "not a totals file: "
    result = runner.invoke(args=["totals", "import", str(path)])
    assert result.exit_code == 1
    assert message in result.output
    assert _counts() == before
    assert [(r.agency.code, r.active) for r in db.session.scalars(select(TotalsImport))] == [("P1", True)]


def test_not_a_national_installation(runner, app, keys, tmp_path):
    _trust(runner, tmp_path, keys)
    app.config["INSTALLATION_LEVEL"] = "province"
    path = write_signed("P1", tmp_path, YEAR, 1, keys["P1"]).path
    result = runner.invoke(args=["totals", "import", str(path)])
    assert result.exit_code == 1 and "not a national one (INSTALLATION_LEVEL)" in result.output
    assert _counts()[0] == 0


def test_trust_refuses_an_unknown_unit_and_a_bad_key(runner, keys, tmp_path):
    pub = tmp_path / "x.pub"
    pub.write_bytes(public_pem(keys["P1"]))
    result = runner.invoke(args=["totals", "trust", "P9", str(pub)])
    assert result.exit_code == 1 and "unknown unit P9" in result.output
    pub.write_bytes(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    result = runner.invoke(args=["totals", "trust", "P1", str(pub)])
    assert result.exit_code == 1 and "not a PEM public key" in result.output
    assert db.session.scalar(select(func.count()).select_from(TotalsUnitKey)) == 0


def test_a_newer_file_of_the_same_period_replaces_the_older_audited(runner, keys, tmp_path):
    _trust(runner, tmp_path, keys)
    old = write_signed("P1", tmp_path, YEAR, seed=1, private=keys["P1"], name="old.parquet")
    new = write_signed("P1", tmp_path, YEAR, seed=5, private=keys["P1"], name="new.parquet")
    assert runner.invoke(args=["totals", "import", str(old.path)]).exit_code == 0
    result = runner.invoke(args=["totals", "import", str(new.path)])
    assert result.exit_code == 0 and "(replaces import" in result.output
    rows = db.session.scalars(select(TotalsImport).order_by(TotalsImport.id)).all()
    assert [(r.file_name, r.active) for r in rows] == [("old.parquet", False), ("new.parquet", True)]
    assert rows[0].replaced_by_id == rows[1].id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "totals.replace"))
    assert event.target == "P1" and event.detail["replaced_import_id"] == rows[0].id
    assert event.detail["import_id"] == rows[1].id and event.detail["period"] == "2026-01..2026-12"
    ranking = national_ranking(None, "en")
    cli = _rollup_cli([new.path], tmp_path)
    assert ranking.rows[0].overall["estimate"] == next(r["estimate"] for r in cli
                                                       if r["scope"] == "group" and r["code"] == "OVERALL")


def test_trend_over_two_periods(runner, client, app, keys, tmp_path):
    import subprocess

    _admin(client, app)
    _trust(runner, tmp_path, keys)
    years = {("2025-01", "2025-12"): [], YEAR: []}
    for (period, paths), seed in zip(years.items(), (10, 20), strict=True):
        for i, unit in enumerate(UNITS):
            f = write_signed(unit, tmp_path, period, seed + i, keys[unit])
            paths.append(f.path)
            assert runner.invoke(args=["totals", "import", str(f.path)]).exit_code == 0
    ranking = national_ranking(None, "en")
    assert ranking.period.period_from == "2026-01"
    assert [p["period"].period_from for p in ranking.trend] == ["2025-01", "2026-01"]
    for point, paths in zip(ranking.trend, years.values(), strict=True):
        cli = _rollup_cli(paths, tmp_path)
        want = {r["by"].get("province"): r["estimate"] for r in cli if r["code"] == "OVERALL"}
        assert point["nation"]["estimate"] == want[None]
        assert {u: rec["estimate"] for u, rec in point["units"].items()} == {u: want[u] for u in UNITS}
    older = national_ranking("ref-survey:2025-01:2025-12", "en")
    assert older.period.period_to == "2025-12" and len(older.rows) == 3
    page = client.get("/reports/national?lang=en").text
    trend = page[page.index('id="table-trend"'):]
    nation = [f"{p['nation']['estimate']:.2f}" for p in ranking.trend]
    assert "<th scope=\"row\">2025-01 – 2025-12</th><td>" + nation[0] in trend
    assert "<th scope=\"row\">2026-01 – 2026-12</th><td>" + nation[1] in trend
    pdf = client.get("/reports/national.pdf?period=ref-survey:2025-01:2025-12&lang=vi")
    out = tmp_path / "trend.pdf"
    out.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Báo cáo mức độ hài lòng toàn quốc" in text and "Xu hướng" in text and "Tỉnh Một" in text
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert f"2025-01 – 2025-12 {nation[0]}" in " ".join(lines)
    assert f"2026-01 – 2026-12 {nation[1]}" in " ".join(lines)


# --- the pages: /admin/totals (administrators) and /reports/national (+ PDF) ---------------------------

def _admin(client, app):
    from flask import g

    @app.before_request
    def _forget_cached_user():
        g.pop("_login_user", None)

    users = {role: make_user(f"{role}@example.org", role) for role in ("administrator", "leader", "manager")}
    db.session.commit()
    login_as(client, users["administrator"])
    return users


def _upload(client, signed, lang="en", signature=None):
    from io import BytesIO

    data = {"file": (BytesIO(signed.data), signed.path.name),
            "signature": (BytesIO(signature if signature is not None else signed.signature),
                          f"{signed.path.name}.sig")}
    return client.post(f"/admin/totals/import?lang={lang}", data=data, content_type="multipart/form-data")


def test_admin_page_registers_keys_and_imports(client, app, keys, tmp_path):
    from io import BytesIO

    users = _admin(client, app)
    page = client.get("/admin/totals?lang=en")
    assert page.status_code == 200 and "no key" in page.text and "Province One" in page.text
    pasted = client.post("/admin/totals/key?lang=en", follow_redirects=True,
                         data={"unit": "P1", "pem": public_pem(keys["P1"]).decode()})
    assert "The public key of unit P1 is registered." in pasted.text
    for unit in ("P2", "P3"):
        uploaded = client.post("/admin/totals/key", data={"unit": unit, "pem": "",
                               "key_file": (BytesIO(public_pem(keys[unit])), f"{unit}.pub")},
                               content_type="multipart/form-data", follow_redirects=True)
        assert uploaded.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(TotalsUnitKey)) == 3
    files = [write_signed(u, tmp_path, YEAR, seed=i, private=keys[u]) for i, u in enumerate(UNITS)]
    for f in files:
        done = _upload(client, f)
        assert done.status_code == 302
        assert "2026-01 to 2026-12: imported" in client.get("/admin/totals?lang=en").text
    shown = client.get("/admin/totals?lang=en")
    assert shown.text.count("in the ranking") == 3
    assert {r.imported_by_id for r in db.session.scalars(select(TotalsImport))} == {users["administrator"].id}
    # refused in Vietnamese: another key's signature; nothing stored
    bad = write_signed("P2", tmp_path, YEAR, 7, private_pem(), name="bad.parquet")
    before = _counts()
    refused = _upload(client, bad, lang="vi")
    assert refused.status_code == 400
    assert "bad.parquet không được nhập: chữ ký không khớp với khóa của đơn vị P2" in refused.text
    assert _counts() == before
    overlap = write_signed("P1", tmp_path, ("2026-06", "2027-05"), 7, keys["P1"], name="overlap.parquet")
    refused = _upload(client, overlap, lang="en")
    assert "overlap.parquet was not imported: the period 2026-06 to 2027-05 overlaps unit P1" in refused.text
    assert _counts() == before
    # leaders read the ranking, managers do not; administrators only on the admin page
    login_as(client, users["manager"])
    assert client.get("/reports/national").status_code == 403
    assert client.get("/admin/totals").status_code == 403
    login_as(client, users["leader"])
    assert client.get("/admin/totals").status_code == 403
    assert client.get("/reports/national").status_code == 200


def test_national_page_and_pdf_show_the_rollup(client, app, keys, tmp_path):
    import re
    import subprocess

    from app.services.totals import import_totals, trust_unit_key

    _admin(client, app)
    files = []
    for i, unit in enumerate(UNITS):
        trust_unit_key(unit, public_pem(keys[unit]), None)
        f = write_signed(unit, tmp_path, YEAR, seed=i, private=keys[unit])
        import_totals(f.data, f.signature, f.path.name, None)
        files.append(f)
    db.session.commit()
    cli = {(r["by"].get("province"), r["code"]): r for r in _rollup_cli([f.path for f in files], tmp_path)}
    page = client.get("/reports/national?lang=en")
    assert page.status_code == 200
    nation = cli[(None, "OVERALL")]
    assert f"National index: <strong>{nation['estimate']:.2f}</strong>" in page.text
    rows = re.findall(r'<tr data-unit="(\w+)">\s*<td class="rank"><span class="rank-value">(\d+)</span><br>'
                      r'<span class="muted rank-interval">(\d+)–(\d+)</span></td>.*?'
                      r'<span class="index">([\d.]+)</span><br>'
                      r'<span class="muted interval">([\d.]+) – ([\d.]+)</span></td>'
                      r'<td class="n">(\d+)</td>', page.text, flags=re.S)
    assert [r[0] for r in rows] == sorted(UNITS, key=lambda u: -cli[(u, "OVERALL")]["estimate"])
    for unit, rank, low, high, est, lo, hi, n in rows:
        want = cli[(unit, "OVERALL")]
        assert (est, lo, hi, int(n)) == (f"{want['estimate']:.2f}", f"{want['ci_low']:.2f}",
                                         f"{want['ci_high']:.2f}", want["n"])
        assert int(low) <= int(rank) <= int(high)
    assert "Province One" in page.text and "Access" in page.text
    # Each unit with its level in words: two provinces and a ministry.
    levels = dict(re.findall(r'<span class="muted">(\w+) · <span class="unit-level">([^<]+)</span>',
                             page.text))
    assert levels == {"P1": "Province", "P2": "Province", "P3": "Ministry"}
    vi = client.get("/reports/national?lang=vi")
    assert "Xếp hạng toàn quốc" in vi.text and "Tỉnh Một" in vi.text
    assert 'P3 · <span class="unit-level">Bộ, ngành</span>' in vi.text
    assert 'P1 · <span class="unit-level">Tỉnh/Thành phố</span>' in vi.text
    pdf = client.get("/reports/national.pdf?period=ref-survey:2026-01:2026-12&lang=en")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    out = tmp_path / "national.pdf"
    out.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "National satisfaction report" in text and "2026-01 – 2026-12" in text
    assert f"{nation['estimate']:.2f}" in text
    for unit in UNITS:
        want = cli[(unit, "OVERALL")]
        name = {"P1": "Province One", "P2": "Province Two", "P3": "Ministry Three"}[unit]
        interval = f"{want['estimate']:.2f} {want['ci_low']:.2f} – {want['ci_high']:.2f}"
        line = next(line for line in text.splitlines() if name in line and "–" in line)
        assert interval in " ".join(line.split()), line


def test_national_pages_do_not_exist_in_a_province(client, app):
    _admin(client, app)
    assert client.get("/reports/national").status_code == 404
    assert client.get("/admin/totals").status_code == 404
    assert "National roll-up" not in client.get("/admin/?lang=en").text


def test_installation_level_is_checked(tmp_path):
    from app import create_app
    from app.config import ConfigError

    with pytest.raises(ConfigError, match="INSTALLATION_LEVEL must be province or national, got 'nation'"):
        create_app({"SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "INSTALLATION_LEVEL": "nation",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
