"""`flask totals export` (issue 20, item 1): the demo province's totals file, signed, equal to the analysis
of its responses CSV; `flask totals key`; voided and campaign responses left out; bad requests refused."""

from __future__ import annotations

import csv
import json
import stat
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from analysis.cli import main as analysis_main
from analysis.totals_file import META_KEY, read_totals, verify_totals
from app.extensions import db
from app.models import Agency, QuestionnaireVersion, Response
from app.models.campaign import Campaign

SURVEY = Path(__file__).resolve().parents[3] / "surveys/sipas-2017.yaml"


def _analysis(*args: str, tmp_path: Path, name: str) -> dict:
    out = tmp_path / f"{name}.json"
    assert analysis_main([*args, "--output", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def _keyed(records):
    return {(json.dumps(r["by"], sort_keys=True), r["code"]): r for r in records}


def _assert_same(rolled, pooled, records: int = 50):
    a, b = _keyed(rolled), _keyed(pooled)
    assert a.keys() == b.keys() and len(a) >= records
    for key, want in b.items():
        got = a[key]
        assert (got["n"], got["df"]) == (want["n"], want["df"]), key
        for name in ("estimate", "se", "ci_low", "ci_high"):
            if want[name] is None:
                assert got[name] is None
            else:
                assert got[name] == pytest.approx(want[name], rel=1e-9, abs=1e-9), (key, name)


@pytest.fixture
def set_apart(demo):
    """One demo response voided, one answered through a campaign: both out of the totals."""
    voided, in_campaign = db.session.scalars(
        select(Response).join(QuestionnaireVersion).where(Response.version_id == QuestionnaireVersion.id)
        .order_by(Response.id).limit(400)).all()[-2:]
    voided.voided_at = datetime.now(UTC)
    agency = db.session.scalar(select(Agency).where(Agency.parent_id.is_(None)))
    campaign = Campaign(code="C1", name="Campaign", version_id=in_campaign.version_id, agency_id=agency.id,
                        period_start=date(2025, 1, 1), period_end=date(2025, 12, 31))
    db.session.add(campaign)
    db.session.flush()
    in_campaign.campaign_id = campaign.id
    db.session.commit()
    return voided.uid, in_campaign.uid, db.session.get(QuestionnaireVersion, in_campaign.version_id)


def test_export_equals_the_analysis_of_the_responses_csv(runner, set_apart, tmp_path):
    voided_uid, campaign_uid, version = set_apart
    code = version.questionnaire.code
    survey_file = SURVEY if code == "sipas-2017" else SURVEY.with_name("sipas-short.yaml")
    out = tmp_path / "demo.parquet"
    result = runner.invoke(args=["totals", "export", "--survey", code, "--from", "2025-01", "--to", "2025-12",
                                 "--calibration", "channel", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "a new signing key was created" in result.stderr
    # the responses CSV of the same period, less the campaign's response (reported apart)
    exported = tmp_path / "all.csv"
    result = runner.invoke(args=["responses", "export", "--survey", code, "--from", "2025-01-01",
                                 "--to", "2025-12-31", "-o", str(exported)])
    assert result.exit_code == 0, result.output
    with exported.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert voided_uid not in {r["response_id"] for r in rows}
    kept = [r for r in rows
            if r["response_id"] != campaign_uid and r["survey_version"] == str(version.version)]
    responses = tmp_path / "responses.csv"
    with responses.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)

    totals = read_totals(out)
    assert totals.unit == "DEMO" and int(totals.table["n"].sum()) == len(kept)
    assert totals.meta["period"] == {"from": "2025-01", "to": "2025-12", "timezone": "Asia/Ho_Chi_Minh"}
    q = str(survey_file)
    rolled = _analysis("rollup", str(out), "--by", "agency", "--questionnaire", q, tmp_path=tmp_path,
                       name="rolled")
    direct = _analysis("indices", str(responses), "--by", "agency", "--questionnaire", q, tmp_path=tmp_path,
                       name="direct")
    groups = [{k: v for k, v in r.items() if k != "scope"}
              for r in rolled["results"] if r["scope"] == "group"]
    _assert_same(groups, direct["results"])
    # post-stratified to the channels' counts, through the file's calibration column
    population = tmp_path / "channels.csv"
    counts: dict[str, int] = {}
    for r in kept:
        counts[r["channel"]] = counts.get(r["channel"], 0) + 1
    population.write_text("channel,total\n" + "".join(f"{c},{n * 37}\n" for c, n in counts.items()))
    opts = ["--poststratify-by", "channel", "--population", str(population)]
    rolled = _analysis("rollup", str(out), *opts, tmp_path=tmp_path, name="rolled_ps")
    direct = _analysis("indices", str(responses), "--questionnaire", q, *opts, tmp_path=tmp_path,
                       name="direct_ps")
    nation = [{k: v for k, v in r.items() if k != "scope"} for r in rolled["results"]]
    a, b = _keyed(nation), _keyed(direct["results"])
    assert a.keys() == b.keys()
    for key, want in b.items():
        assert a[key]["se"] == pytest.approx(want["se"], rel=1e-9), key
        assert a[key]["estimate"] == pytest.approx(want["estimate"], rel=1e-9), key


def test_signature_and_key(runner, demo, tmp_path, app):
    out = tmp_path / "t.parquet"
    result = runner.invoke(args=["totals", "export", "--survey", "sipas-short", "--from", "2025-01",
                                 "--to", "2025-06", "-o", str(out)])
    assert result.exit_code == 0, result.output
    key_file = Path(app.config["TOTALS_SIGNING_KEY"])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    printed = runner.invoke(args=["totals", "key"])
    assert printed.exit_code == 0 and printed.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert "new signing key" not in printed.stderr
    data = out.read_bytes()
    verify_totals(data, Path(f"{out}.sig").read_bytes(), printed.stdout.encode())
    meta = json.loads(pq.read_table(out).schema.metadata[META_KEY])
    assert meta["questionnaire"]["code"] == "sipas-short"
    assert all(s.startswith("DEMO:") for s in pq.read_table(out).column("stratum").to_pylist())
    public = tmp_path / "demo.pub"
    assert runner.invoke(args=["totals", "key", "-o", str(public)]).exit_code == 0
    assert analysis_main(["rollup", str(out), "--verify-key", f"DEMO={public}",
                          "--output", str(tmp_path / "r.json")]) == 0
    altered = bytearray(data)
    altered[len(data) // 2] ^= 1
    out.write_bytes(bytes(altered))
    assert analysis_main(["rollup", str(out), "--verify-key", str(public),
                          "--output", str(tmp_path / "r.json")]) == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2025-13", "--to", "2025-12"], "'2025-13' is not a month like 2026-01"),
    (["--from", "2025-06", "--to", "2025-01"], "the period runs backwards"),
    (["--from", "2030-01", "--to", "2030-12"], "no responses to sipas-short"),
    (["--from", "2025-01", "--to", "2025-12", "--calibration", "E1_1"], "calibration column 'E1_1'"),
    (["--from", "2025-01", "--to", "2025-12", "--unit", "HÀ NỘI"], "unit code 'HÀ NỘI'"),
    (["--from", "2025-01", "--to", "2025-12", "--survey", "nope"], "no published questionnaire 'nope'"),
])
def test_bad_requests_write_nothing(runner, demo, tmp_path, args, message):
    out = tmp_path / "t.parquet"
    survey = [] if "--survey" in args else ["--survey", "sipas-short"]
    result = runner.invoke(args=["totals", "export", *survey, *args, "-o", str(out)])
    assert result.exit_code == 1 and message in result.stderr
    assert not out.exists() and not Path(f"{out}.sig").exists()


def test_counts_match_the_database(runner, demo, tmp_path):
    out = tmp_path / "t.parquet"
    assert runner.invoke(args=["totals", "export", "--survey", "sipas-short", "--from", "2025-01",
                               "--to", "2025-12", "-o", str(out)]).exit_code == 0
    version = db.session.scalar(select(QuestionnaireVersion.id).join(QuestionnaireVersion.questionnaire)
                                .where(QuestionnaireVersion.questionnaire.has(code="sipas-short")))
    stored = db.session.scalar(select(func.count()).select_from(Response)
                               .where(Response.version_id == version))
    assert int(read_totals(out).table["n"].sum()) == stored


def test_app_and_analysis_files_roll_up_to_the_pooled_answers(runner, demo, tmp_path):
    """The demo province's file from `flask totals export` and a second province's file written by the
    analysis functions (from a share of the same answers, as its own unit) roll up to the indices of all
    their answers pooled."""
    from analysis.io import read_responses
    from analysis.questionnaire import load_questionnaire
    from analysis.spec import IndexSpec
    from analysis.totals_file import table_from_responses, write_totals

    # a response rating only sipas-short's OVERALL question, a likert question outside the elements:
    # no criterion answered, so it counts in n but not in the OVERALL index's n
    version = db.session.scalar(select(QuestionnaireVersion).where(
        QuestionnaireVersion.questionnaire.has(code="sipas-short")))
    agency = db.session.scalar(select(Agency).where(Agency.code == "DEMO"))
    db.session.add(Response(uid="only-overall", version_id=version.id, agency_id=agency.id, channel="import",
                            submitted_at=datetime(2025, 6, 15, 3, tzinfo=UTC), r6=5, answers={}))
    db.session.commit()
    app_file = tmp_path / "DEMO.parquet"
    assert runner.invoke(args=["totals", "export", "--survey", "sipas-short", "--from", "2025-01",
                               "--to", "2025-12", "-o", str(app_file)]).exit_code == 0
    exported = tmp_path / "demo.csv"
    assert runner.invoke(args=["responses", "export", "--survey", "sipas-short", "--from", "2025-01-01",
                               "--to", "2025-12-31", "-o", str(exported)]).exit_code == 0
    with exported.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert next(r for r in rows if r["response_id"] == "only-overall")["OVERALL"] == "5"
    answering = sum(any(r[f"E{i}_1"] for i in range(1, 6)) for r in rows)
    demo_totals = read_totals(app_file)
    assert demo_totals.table["OVERALL__n"].sum() == answering < demo_totals.table["n"].sum() == len(rows)
    # every second answer of the districts H01-H05: a smaller province with fewer agencies
    other = [dict(r, response_id="P2-" + r["response_id"])
             for r in rows[::2] if r["agency"].startswith(tuple(f"DEMO-H0{i}" for i in range(1, 6)))]
    assert 30 < len(other) < len(rows) / 2
    other_csv = tmp_path / "p2.csv"
    with other_csv.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(other)
    survey = SURVEY.with_name("sipas-short.yaml")
    questionnaire = load_questionnaire(survey)
    spec = IndexSpec.from_questionnaire(questionnaire)
    table = table_from_responses(read_responses(other_csv, spec, by=["agency"]), spec)
    p2_file = tmp_path / "P2.parquet"
    p2_file.write_bytes(write_totals(table, definition=questionnaire.definition, unit="P2",
                                     period_from="2025-01", period_to="2025-12", timezone="Asia/Ho_Chi_Minh"))
    pooled = tmp_path / "pooled.csv"
    with pooled.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*rows[0], "province"])
        writer.writeheader()
        for unit, part in (("DEMO", rows), ("P2", other)):
            # the national design: each province's strata are its own (the files' <unit>: prefix)
            writer.writerows(dict(r, stratum=f"{unit}:{r['stratum'] or '-'}",
                                  psu=r["psu"] or f"#{r['response_id']}", province=unit) for r in part)
    q = str(survey)
    rolled = _analysis("rollup", str(app_file), str(p2_file), "--by", "province", "--questionnaire", q,
                       tmp_path=tmp_path, name="rolled")
    by_province = _analysis("indices", str(pooled), "--by", "province", "--questionnaire", q,
                            tmp_path=tmp_path, name="by_province")
    whole = _analysis("indices", str(pooled), "--questionnaire", q, tmp_path=tmp_path, name="whole")
    scoped = {s: [{k: v for k, v in r.items() if k != "scope"} for r in rolled["results"] if r["scope"] == s]
              for s in ("group", "nation")}
    _assert_same(scoped["group"], by_province["results"], records=22)
    a, b = _keyed(scoped["nation"]), _keyed(whole["results"])
    assert a.keys() == b.keys()
    for key, want in b.items():
        assert (a[key]["n"], a[key]["df"]) == (want["n"], want["df"])
        assert a[key]["se"] == pytest.approx(want["se"], rel=1e-9) and \
            a[key]["estimate"] == pytest.approx(want["estimate"], rel=1e-9)
