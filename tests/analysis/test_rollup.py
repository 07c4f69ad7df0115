"""The national roll-up (issue 20): totals files out of three provinces, indices from them alone.

The provinces' responses are generated here (strata, PSUs, weights, a
calibration column; one province with neither strata nor PSUs), each
province's totals file is written by the analysis functions, and
``python -m analysis rollup`` must give the numbers of ``indices`` on the
pooled responses to 1e-9: estimates, standard errors, degrees of freedom,
intervals, with and without post-stratification.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from analysis.errors import AnalysisError
from analysis.io import DataError, read_responses
from analysis.questionnaire import load_questionnaire
from analysis.spec import IndexSpec
from analysis.totals_file import (
    META_KEY,
    read_totals,
    sign_totals,
    table_from_responses,
    verify_totals,
    write_totals,
)
from tests.analysis.conftest import RESULTS as RESULTS_DIR

CRITERIA = ("E1_1", "E1_2", "E1_3", "E2_1", "E2_2", "E3_1", "E3_2")
PROVINCES = ("P1", "P2", "P3")
COMPARED = ("estimate", "se", "ci_low", "ci_high")


def _province(rng: np.random.Generator, unit: str, clustered: bool) -> pd.DataFrame:
    """A province's responses: 2 strata × 3 PSUs × 4-9 responses, or 40 unclustered ones."""
    rows = []
    if clustered:
        for h in ("S1", "S2"):
            for p in range(3):
                for _ in range(rng.integers(4, 10)):
                    rows.append({"stratum": h, "psu": f"C{p}"})
    else:
        rows = [{} for _ in range(40)]
    frame = pd.DataFrame(rows)
    n = len(frame)
    frame.insert(0, "response_id", [f"{unit}-{i:04d}" for i in range(n)])
    frame.insert(1, "survey", "ref-survey")
    frame["agency"] = rng.choice([f"{unit}-A1", f"{unit}-A2", "SHARED"], size=n)
    frame["weight"] = np.round(rng.uniform(0.5, 6.0, size=n), 4)
    frame["sex"] = rng.choice(["F", "M"], size=n)
    for k in CRITERIA:
        values = rng.integers(1, 6, size=n).astype(float)
        values[rng.random(n) < 0.15] = np.nan
        frame[k] = values
    return frame


@pytest.fixture(scope="module")
def provinces() -> dict[str, pd.DataFrame]:
    """Three provinces' responses; P3 is a simple random sample (no stratum, no psu columns)."""
    rng = np.random.default_rng(20)
    return {u: _province(rng, u, clustered=(u != "P3")) for u in PROVINCES}


def _csv(frame: pd.DataFrame, path) -> str:
    out = frame.copy()
    for k in CRITERIA:
        out[k] = out[k].map(lambda v: "" if np.isnan(v) else str(int(v)))
    out.to_csv(path, index=False)
    return str(path)


def _pooled(provinces: dict[str, pd.DataFrame], path) -> str:
    """All answers in one file, the design made national: strata prefixed by the province."""
    parts = []
    for unit, frame in provinces.items():
        part = frame.copy()
        if "stratum" not in part:
            part["stratum"] = "-"
            part["psu"] = [f"#{i}" for i in range(1, len(part) + 1)]
        part["stratum"] = unit + ":" + part["stratum"]
        part["province"] = unit
        parts.append(part)
    return _csv(pd.concat(parts, ignore_index=True), path)


def _totals_bytes(csv_path: str, unit: str, calibration=("sex",)) -> bytes:
    questionnaire = load_questionnaire(RESULTS_DIR / "ref-survey.yaml")
    spec = IndexSpec.from_questionnaire(questionnaire)
    columns = read_responses(csv_path, spec, by=["agency"], calibration=list(calibration))
    table = table_from_responses(columns, spec, by=["agency"], calibration=calibration)
    return write_totals(table, definition=questionnaire.definition, unit=unit, period_from="2026-01",
                        period_to="2026-12", calibration=calibration, timezone="Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def totals_files(provinces, tmp_path_factory) -> list[str]:
    """Each province's totals file, written from its own responses CSV."""
    folder = tmp_path_factory.mktemp("totals")
    paths = []
    for unit, frame in provinces.items():
        csv_path = _csv(frame, folder / f"{unit}.csv")
        path = folder / f"{unit}.parquet"
        path.write_bytes(_totals_bytes(csv_path, unit))
        paths.append(str(path))
    return paths


def _keyed(records: list[dict]) -> dict[tuple, dict]:
    return {(json.dumps(r["by"], sort_keys=True), r["code"], r["measure"]): r for r in records}


def _assert_same(rolled: list[dict], pooled: list[dict]) -> None:
    a, b = _keyed(rolled), _keyed(pooled)
    assert a.keys() == b.keys() and len(a) >= 11
    for key, want in b.items():
        got = a[key]
        assert (got["n"], got["df"], got["flags"]) == (want["n"], want["df"], want["flags"]), key
        for name in COMPARED:
            if want[name] is None:
                assert got[name] is None, (key, name)
            else:
                assert got[name] == pytest.approx(want[name], rel=1e-9, abs=1e-9), (key, name)


def _split(records: list[dict]) -> tuple[list[dict], list[dict]]:
    groups = [{k: v for k, v in r.items() if k != "scope"} for r in records if r["scope"] == "group"]
    nation = [{k: v for k, v in r.items() if k != "scope"} for r in records if r["scope"] == "nation"]
    return groups, nation


def test_rollup_equals_the_pooled_answers(run_cli, provinces, totals_files, tmp_path, results):
    pooled = _pooled(provinces, tmp_path / "pooled.csv")
    q = str(results / "ref-survey.yaml")
    status, rolled, err = run_cli("rollup", *totals_files, "--by", "province", "--questionnaire", q,
                                  "--measure", "both")
    assert status == 0, err
    groups, nation = _split(rolled["results"])
    _, by_province, _ = run_cli("indices", pooled, "--questionnaire", q, "--by", "province",
                                "--measure", "both")
    _, whole, _ = run_cli("indices", pooled, "--questionnaire", q, "--measure", "both")
    _assert_same(groups, by_province["results"])
    _assert_same(nation, whole["results"])
    assert {r["by"]["province"] for r in groups} == set(PROVINCES)
    assert nation[0]["by"] == {}
    assert rolled["meta"]["rollup"]["units"] == list(PROVINCES)
    assert rolled["meta"]["design"] == whole["meta"]["design"]
    # P3 has no PSUs: each response is its own, so its df is its responses minus one stratum
    p3 = next(r for r in groups if r["by"]["province"] == "P3" and r["code"] == "OVERALL")
    assert p3["df"] == len(provinces["P3"]) - 1


def test_rollup_by_province_and_agency(run_cli, provinces, totals_files, tmp_path, results):
    pooled = _pooled(provinces, tmp_path / "pooled.csv")
    q = str(results / "ref-survey.yaml")
    _, rolled, _ = run_cli("rollup", *totals_files, "--by", "province,agency")
    _, pooled_out, _ = run_cli("indices", pooled, "--questionnaire", q, "--by", "province,agency")
    groups, _ = _split(rolled["results"])
    _assert_same(groups, pooled_out["results"])
    # the agency code SHARED exists in every province: two provinces' agencies never merge
    assert sum(r["by"]["agency"] == "SHARED" and r["code"] == "OVERALL" for r in groups) == 3


@pytest.mark.parametrize("columns", ["sex", "province,sex"])
def test_rollup_poststratified_equals_the_pooled_answers(run_cli, provinces, totals_files, tmp_path,
                                                         results, columns):
    pooled = _pooled(provinces, tmp_path / "pooled.csv")
    cols = columns.split(",")
    cells = pd.concat(provinces.values(), keys=PROVINCES, names=["province", None]).reset_index()
    population = cells.groupby(cols).size().rename("total").reset_index()
    population["total"] = population["total"] * 1000 + 17
    pop_path = tmp_path / "population.csv"
    population.to_csv(pop_path, index=False)
    q = str(results / "ref-survey.yaml")
    opts = ["--poststratify-by", columns, "--population", str(pop_path)]
    status, rolled, err = run_cli("rollup", *totals_files, "--by", "province", *opts)
    assert status == 0, err
    groups, nation = _split(rolled["results"])
    _, by_province, _ = run_cli("indices", pooled, "--questionnaire", q, "--by", "province", *opts)
    _, whole, _ = run_cli("indices", pooled, "--questionnaire", q, *opts)
    _assert_same(groups, by_province["results"])
    _assert_same(nation, whole["results"])
    assert rolled["meta"]["calibration"]["method"] == "poststratify"


# ---------------------------------------------------------------- bad input


def _rewrite(path, tmp_path, *, meta_change=None, column=None, row=0, value=None, name="bad.parquet"):
    """A copy of a totals file with its metadata or one cell changed (not re-signed)."""
    arrow = pq.read_table(path)
    meta = json.loads(arrow.schema.metadata[META_KEY])
    if meta_change:
        meta_change(meta)
    if column is not None:
        values = arrow.column(column).to_pylist()
        values[row] = value
        arrow = arrow.set_column(arrow.column_names.index(column), column,
                                 pa.array(values, type=arrow.schema.field(column).type))
    arrow = arrow.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    out = tmp_path / name
    pq.write_table(arrow, out)
    return str(out)


def _version_two(meta):
    meta["format_version"] = 2


def _margin_off(meta):
    meta["margins"]["groups"][0]["n"] += 1


@pytest.mark.parametrize(("change", "message"), [
    ({"meta_change": _version_two}, "format version 2: this program reads totals files of format version 1"),
    ({"column": "E1_1__n", "value": -3}, "row 1, column E1_1__n: negative count"),
    ({"column": "w", "value": -1.0}, "row 1, column w: negative sum"),
    ({"column": "n", "value": 10**6}, "column n: the cells add up to"),
    ({"meta_change": _margin_off}, "column n: the cells add up to"),
    ({"column": "stratum", "value": "P2:S1"}, "row 1, column stratum: stratum does not start with 'P1:'"),
])
def test_bad_totals_files_are_refused_with_the_reason(run_cli, totals_files, tmp_path, change, message):
    bad = _rewrite(totals_files[0], tmp_path, **change)
    status, _, err = run_cli("rollup", bad, totals_files[1])
    assert status == 2
    assert message in err and bad in err


def test_count_above_responses_and_margin_names_the_group(totals_files, tmp_path):
    bad = _rewrite(totals_files[0], tmp_path, column="OVERALL__n", value=10**6)
    with pytest.raises(DataError, match="row 1, column OVERALL__n: more answers than responses"):
        read_totals(bad)
    arrow = pq.read_table(totals_files[0])
    agency = arrow.column("agency")[0].as_py()
    w = arrow.column("w")[0].as_py()
    bad = _rewrite(totals_files[0], tmp_path, column="w", value=w + 1.0, name="w.parquet")
    with pytest.raises(DataError, match=f"the cells add up to .* for {agency}, the file's margin says"):
        read_totals(bad)


def test_files_that_cannot_be_pooled(run_cli, totals_files, tmp_path, results):
    status, _, err = run_cli("rollup", totals_files[0], totals_files[0])
    assert status == 2 and "unit 'P1' is also in" in err
    other = _rewrite(totals_files[1], tmp_path, meta_change=lambda m: m["period"].update({"to": "2026-06"}))
    status, _, err = run_cli("rollup", totals_files[0], other)
    assert status == 2 and "period 2026-01..2026-06 differs" in err
    other_survey = RESULTS_DIR.parents[2] / "surveys/sipas-short.yaml"
    status, _, err = run_cli("rollup", totals_files[0], "--questionnaire", str(other_survey))
    assert status == 2 and "is not the one the totals files were made with" in err
    status, _, err = run_cli("rollup", totals_files[0], "--by", "gender")
    assert status == 2 and "column gender: --by column is not in the file" in err


def test_not_a_totals_file(run_cli, tmp_path):
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"n": [1]}), plain)
    status, _, err = run_cli("rollup", str(plain))
    assert status == 2 and "not a totals file" in err


# ---------------------------------------------------------------- signatures


def _keys() -> tuple[bytes, bytes]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def test_signature_verifies_and_fails_after_one_byte_changes(totals_files):
    private, public = _keys()
    data = Path(totals_files[0]).read_bytes()
    signature = sign_totals(data, private)
    verify_totals(data, signature, public)
    for position in (0, len(data) // 2, len(data) - 1):
        altered = bytearray(data)
        altered[position] ^= 0x01
        with pytest.raises(AnalysisError, match="the signature does not match"):
            verify_totals(bytes(altered), signature, public)
    with pytest.raises(AnalysisError, match="the signature does not match"):
        verify_totals(data, signature, _keys()[1])


def test_rollup_verify_key(run_cli, totals_files, tmp_path):
    keys = {u: _keys() for u in PROVINCES}
    paths = []
    for unit, path in zip(PROVINCES, totals_files, strict=True):
        copy = tmp_path / f"{unit}.parquet"
        data = Path(path).read_bytes()
        copy.write_bytes(data)
        (tmp_path / f"{unit}.parquet.sig").write_bytes(sign_totals(data, keys[unit][0]))
        (tmp_path / f"{unit}.pub").write_bytes(keys[unit][1])
        paths.append(str(copy))
    opts = [f"--verify-key={u}={tmp_path / f'{u}.pub'}" for u in PROVINCES]
    status, out, err = run_cli("rollup", *paths, *opts)
    assert status == 0, err
    assert out["meta"]["rollup"]["verified"] is True
    # P2's file signed by P1's key: refused
    (tmp_path / "P2.parquet.sig").write_bytes(sign_totals(Path(paths[1]).read_bytes(), keys["P1"][0]))
    status, _, err = run_cli("rollup", *paths, *opts)
    assert status == 2 and "P2.parquet: signature check failed: the signature does not match" in err
    # one flipped byte in P3's file
    data = bytearray(Path(paths[2]).read_bytes())
    data[len(data) // 3] ^= 0x40
    (tmp_path / "P2.parquet.sig").write_bytes(sign_totals(Path(paths[1]).read_bytes(), keys["P2"][0]))
    (tmp_path / "P3.parquet").write_bytes(bytes(data))
    status, _, err = run_cli("rollup", *paths, *opts)
    assert status == 2 and "P3.parquet" in err


def test_file_metadata_describes_the_totals(totals_files, provinces):
    arrow = pq.read_table(totals_files[1])
    meta = json.loads(arrow.schema.metadata[META_KEY])
    assert meta["format_version"] == 1 and meta["unit"] == "P2"
    assert meta["questionnaire"]["code"] == "ref-survey" and len(meta["questionnaire"]["sha256"]) == 64
    assert meta["period"] == {"from": "2026-01", "to": "2026-12", "timezone": "Asia/Ho_Chi_Minh"}
    assert meta["margins"]["total"]["n"] == len(provinces["P2"])
    assert arrow.column_names[:6] == ["unit", "agency", "stratum", "psu", "sex", "n"]
    assert set(arrow.column("stratum").to_pylist()) == {"P2:S1", "P2:S2"}
    assert read_totals("P2", Path(totals_files[1]).read_bytes()).unit == "P2"


def test_missing_signature_file_is_refused(run_cli, totals_files, tmp_path):
    _, public = _keys()
    key = tmp_path / "k.pub"
    key.write_bytes(public)
    status, _, err = run_cli("rollup", totals_files[0], "--verify-key", str(key))
    assert status == 2 and f"no signature file {totals_files[0]}.sig" in err


def test_every_rollup_option_is_documented():
    from analysis.cli import build_parser

    parser = build_parser("rollup")
    sub = next(a for a in parser._actions if a.dest == "command").choices["rollup"]
    options = {s for a in sub._actions for s in a.option_strings if s.startswith("--") and s != "--help"}
    formats = (RESULTS_DIR.parents[2] / "docs/FORMATS.md").read_text(encoding="utf-8")
    documented = formats[formats.index("## 4. "):formats.index("## 5. ")] + \
        formats[formats.index("## 7. "):]
    assert sorted(o for o in options if f"`{o}" not in documented) == []
