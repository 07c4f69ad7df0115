"""``python -m analysis``: the FORMATS.md §4 contract, errors with file/row/column, extras."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from analysis.cli import main

HEADER = "response_id,survey,agency,stratum,psu,weight,E1_1,E1_2,E1_3,E2_1,E2_2,E3_1,E3_2\n"


def _write(tmp_path, rows, header=HEADER, name="r.csv"):
    path = tmp_path / name
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _ok_rows(n=6):
    return [f"R{i},ref-survey,A0{i % 2 + 1},S1,P{i % 3},1.5,5,4,3,2,1,5," for i in range(n)]


def test_indices_json_contract(run_cli, results):
    status, payload, err = run_cli("indices", str(results / "designed.csv"), "--questionnaire",
                                   str(results / "ref-survey.yaml"))
    assert status == 0 and err == ""
    assert payload["meta"]["questionnaire"] == "ref-survey"
    assert payload["meta"]["ci_level"] == 0.95 and payload["meta"]["ci_method"] == "logit"
    assert payload["meta"]["design"] == {"strata": 5, "psus": 28}
    assert "adjust" in payload["meta"]["lonely_psu"]
    first = payload["results"][0]
    for key in ("by", "level", "code", "estimate", "se", "ci_low", "ci_high", "n", "df",
                "measure"):
        assert key in first
    assert first["by"] == {} and first["measure"] == "satisfied"
    levels = {(r["level"], r["code"]) for r in payload["results"]}
    assert ("overall", "OVERALL") in levels and ("element", "E2") in levels


def test_stdout_only_results_and_no_nan(tmp_path, capsys, results):
    status = main(["indices", str(results / "designed.csv"), "--questionnaire",
                   str(results / "ref-survey.yaml"), "--by", "agency", "--measure", "both"])
    out = capsys.readouterr()
    assert status == 0 and out.err == ""
    text = out.out
    assert "NaN" not in text and "Infinity" not in text
    payload = json.loads(text)
    assert {r["measure"] for r in payload["results"]} == {"satisfied", "mean-score"}
    for r in payload["results"]:
        for v in r.values():
            assert not (isinstance(v, float) and not math.isfinite(v))


def test_csv_output_quotes_formula_like_labels(run_cli, tmp_path, results):
    rows = [r.replace("A01", "=cmd()") for r in _ok_rows()]
    path = _write(tmp_path, rows)
    status, text, err = run_cli("indices", str(path), "--questionnaire",
                                str(results / "ref-survey.yaml"), "--by", "agency", fmt="csv")
    assert status == 0, err
    assert "'=cmd()" in text and "\n=cmd()" not in text
    assert text.splitlines()[0].startswith("by.agency,level,code,measure,estimate")


@pytest.mark.parametrize(("cell", "column", "message"), [
    ("7", "E1_2", "rating must be an integer 1..5"),
    ("4.5", "E1_2", "rating must be an integer 1..5"),
    ("abc", "E1_2", "is not a number"),
    ("0", "E1_2", "rating must be an integer 1..5"),
    ("1e10", "E1_2", "rating must be an integer 1..5"),
    ("-3", "E1_2", "rating must be an integer 1..5"),
    ("nan", "E1_2", "is not a number"),
    ("NA", "E1_2", "is not a number"),
    ("inf", "E1_2", "rating must be an integer 1..5"),
])
def test_bad_rating_names_file_row_column(run_cli, tmp_path, results, cell, column, message):
    rows = _ok_rows()
    rows[3] = rows[3].replace(",5,4,3,", f",5,{cell},3,", 1)
    path = _write(tmp_path, rows)
    status, _, err = run_cli("indices", str(path), "--questionnaire",
                             str(results / "ref-survey.yaml"))
    assert status == 2
    assert f"{path}: row 5, column {column}: " in err and message in err


def test_bad_weight_and_unknown_by_column(run_cli, tmp_path, results):
    rows = _ok_rows()
    rows[1] = rows[1].replace(",1.5,", ",0,")
    path = _write(tmp_path, rows)
    q = str(results / "ref-survey.yaml")
    status, _, err = run_cli("indices", str(path), "--questionnaire", q)
    assert status == 2 and f"{path}: row 3, column weight: weight must be" in err
    status, _, err = run_cli("indices", str(_write(tmp_path, _ok_rows(), name="ok.csv")),
                             "--questionnaire", q, "--by", "nope")
    assert status == 2 and "row 1, column nope: unknown column" in err


def test_population_cell_without_responses(run_cli, tmp_path, results):
    path = _write(tmp_path, _ok_rows())
    pop = tmp_path / "pop.csv"
    pop.write_text("agency,total\nA01,100\nA02,200\nA09,50\n", encoding="utf-8")
    status, _, err = run_cli("indices", str(path), "--questionnaire",
                             str(results / "ref-survey.yaml"), "--poststratify-by", "agency",
                             "--population", str(pop))
    assert status == 2 and f"{pop}: row 4, column agency: " in err and "no responses" in err


def test_raking_that_cannot_converge_is_an_error(run_cli, tmp_path, results):
    rows = [f"R{i},ref-survey,{a},S1,P{i},1,5,4,3,2,1,5,{c}" for i, (a, c) in
            enumerate([("A01", "5"), ("A01", "5"), ("A02", "4"), ("A02", "4")])]
    header = HEADER.replace("E3_2\n", "E3_2,channel\n")
    path = _write(tmp_path, [r + ("," + ("qr" if r.split(",")[2] == "A01" else "kiosk"))
                             for r in rows], header=header)
    a = tmp_path / "a.csv"
    a.write_text("agency,total\nA01,10\nA02,30\n", encoding="utf-8")
    c = tmp_path / "c.csv"
    c.write_text("channel,total\nqr,30\nkiosk,10\n", encoding="utf-8")
    status, _, err = run_cli("indices", str(path), "--questionnaire",
                             str(results / "ref-survey.yaml"), "--rake", f"agency={a}",
                             "--rake", f"channel={c}")
    assert status == 2 and "raking did not converge" in err


def test_compare_and_rank_subcommands(run_cli, results):
    data, q = str(results / "designed.csv"), str(results / "ref-survey.yaml")
    status, payload, err = run_cli("compare", data, "--questionnaire", q, "--by", "agency",
                                   "--groups", "A01:A02", "--against-all")
    assert status == 0, err
    labels = {r["comparison"] for r in payload["results"]}
    assert "A01 - A02" in labels and "A01 - ALL" in labels
    assert all(0 <= r["p_value"] <= 1 for r in payload["results"] if r["p_value"] is not None)
    status, payload, err = run_cli("rank", data, "--questionnaire", q, "--by", "agency")
    assert status == 0, err
    ranked = [r for r in payload["results"] if r["rank"] is not None]
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    assert all(r["rank_low"] <= r["rank"] <= r["rank_high"] for r in ranked)
    tiny = [r for r in payload["results"] if r["by"]["agency"] == "A06"]
    assert tiny[0]["rank"] is None  # five answers are never ranked
    assert {r["vs_average"] for r in ranked} <= {"above", "below", "not different"}


def test_module_entry_point_exit_status(tmp_path, results):
    missing = tmp_path / "missing.csv"
    proc = subprocess.run([sys.executable, "-m", "analysis", "indices", str(missing),
                           "--questionnaire", str(results / "ref-survey.yaml")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and proc.stdout == "" and str(missing) in proc.stderr


def test_importing_analysis_loads_no_web_framework():
    code = ("import sys, analysis, analysis.cli, analysis.compare, analysis.weighting; "
            "print(any(m.split('.')[0] in ('flask', 'sqlalchemy', 'app') for m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "False"


def test_codes_that_look_like_numbers_stay_text(run_cli, tmp_path, results):
    rows = [r.replace(",A01,", ",007,").replace(",A02,", ",010,") for r in _ok_rows()]
    status, payload, err = run_cli("indices", str(_write(tmp_path, rows)), "--questionnaire",
                                   str(results / "ref-survey.yaml"), "--by", "agency")
    assert status == 0, err
    assert {r["by"]["agency"] for r in payload["results"]} == {"007", "010"}


def test_json_bytes_same_on_stdout_file_and_text_stream(tmp_path, capsys, monkeypatch, results):
    import io

    args = ["indices", str(results / "designed.csv"), "--questionnaire",
            str(results / "ref-survey.yaml"), "--by", "agency"]
    out = tmp_path / "o.json"
    assert main([*args, "--output", str(out)]) == 0
    assert main(args) == 0
    to_stdout = capsys.readouterr().out
    text = io.StringIO()
    monkeypatch.setattr(sys, "stdout", text)
    assert main(args) == 0
    assert out.read_text(encoding="utf-8") == to_stdout == text.getvalue()
    assert to_stdout.endswith("}\n") and json.loads(to_stdout)["results"]
