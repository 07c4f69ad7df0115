"""The pyarrow fast path reads valid files exactly as the careful pandas path does,
and declines everything else, so bad input is still reported by file, row and column."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from analysis import csv_arrow
from analysis.cli import main
from analysis.estimate import estimate_indices
from analysis.io import read_responses, responses_to_totals
from analysis.totals import CodedColumn

HEADER = "response_id,survey,agency,stratum,psu,weight,E1_1,E1_2,E1_3,E2_1,E2_2,E3_1,E3_2"


def _set(row: str, index: int, value: str) -> str:
    fields = row.split(",")
    fields[index] = value
    return ",".join(fields)


def _rows(n=40):
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        ratings = [str(r) if rng.random() > 0.15 else "" for r in rng.integers(1, 6, 7)]
        out.append(f"R{i},ref-survey,A0{i % 3 + 1},S{i % 2},P{i % 5},{rng.uniform(0.5, 3):.4f},"
                   + ",".join(ratings))
    return out


def _write(tmp_path, rows, header=HEADER, name="r.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes((header + "\n" + "".join(r + "\n" for r in rows)).encode(encoding))
    return path


def _cli_text(path, q, *extra):
    """The CLI's JSON for ``path`` (stdout captured by writing to a file next to it)."""
    out = path.with_suffix(".json")
    status = main(["indices", str(path), "--questionnaire", q, "--output", str(out), *extra])
    assert status == 0
    return out.read_text(encoding="utf-8")


def _both_paths(monkeypatch, path, q, *extra):
    """CLI output with the fast path, then with the fast path switched off."""
    calls = []
    real = csv_arrow.read_valid

    def spy(*args):
        result = real(*args)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(csv_arrow, "read_valid", spy)
    fast = _cli_text(path, q, *extra)
    monkeypatch.setattr(csv_arrow, "read_valid", lambda *args: None)
    careful = _cli_text(path, q, *extra)
    return fast, careful, calls


@pytest.mark.parametrize("extra", [
    ("--by", "agency"), ("--by", "period"), ("--by", "agency,channel", "--measure", "both"),
    ("--poststratify-by", "agency"),
])
def test_fast_and_careful_paths_give_identical_output(monkeypatch, tmp_path, results, extra):
    data = tmp_path / "designed.csv"
    data.write_bytes((results / "designed.csv").read_bytes())
    q = str(results / "ref-survey.yaml")
    if extra[0] == "--poststratify-by":
        extra = (*extra, "--population", str(results / "population.csv"))
    fast, careful, calls = _both_paths(monkeypatch, data, q, *extra)
    assert calls == [True]  # the valid file did take the fast path
    assert fast == careful
    assert json.loads(fast)["results"]


def test_fast_path_columns_match_careful_columns(results, ref_spec):
    path = results / "designed.csv"
    by = ["agency", "period"]
    fast = read_responses(path, ref_spec, by=by)
    careful = read_responses(path, ref_spec, by=by, fast=False)
    assert isinstance(fast.by["period"], CodedColumn)
    for a, b in zip(fast.codes, careful.codes, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fast.weight, careful.weight)
    assert list(fast.by["period"].labels) == ["2025", "2026"]  # text, as the careful path
    a = estimate_indices(responses_to_totals(fast, ref_spec)).records()
    b = estimate_indices(responses_to_totals(careful, ref_spec)).records()
    assert a == b


def test_quoted_line_breaks_bom_and_empty_cells_take_the_fast_path(monkeypatch, tmp_path,
                                                                   results):
    header = HEADER + ",comment"
    rows = [r + (',"first line\nsecond, with comma ""quoted"""' if i % 4 == 0 else ",")
            for i, r in enumerate(_rows())]
    rows[5] = rows[5].replace(",P0,", ',"P0",')  # a quoted code is the same code
    path = _write(tmp_path, rows, header=header, encoding="utf-8-sig")
    fast, careful, calls = _both_paths(monkeypatch, path, str(results / "ref-survey.yaml"),
                                       "--by", "agency")
    assert calls == [True] and fast == careful


@pytest.mark.parametrize(("cell", "message"), [
    ("7", "rating must be an integer 1..5"),
    ("0", "rating must be an integer 1..5"),
    ("-0", "rating must be an integer 1..5"),
    ("-3", "rating must be an integer 1..5"),
    ("0x4", "is not a number"),  # pyarrow would read 4
    ("abc", "is not a number"),
    ("4.5", "rating must be an integer 1..5"),
])
def test_bad_rating_is_declined_and_reported(run_cli, tmp_path, results, ref_spec, cell,
                                             message):
    rows = _rows()
    rows[6] = _set(rows[6], 7, cell)  # E1_2 of the 7th response: spreadsheet row 8
    path = _write(tmp_path, rows)
    present = list(ref_spec.criteria)
    columns = [*present, "survey", "stratum", "psu", "weight", "agency"]
    assert csv_arrow.read_valid(path, ref_spec, present, columns, True,
                                ["stratum", "psu"]) is None
    status, _, err = run_cli("indices", str(path), "--questionnaire",
                             str(results / "ref-survey.yaml"))
    assert status == 2
    assert f"{path}: row 8, column E1_2: " in err and message in err


@pytest.mark.parametrize(("column", "value", "message"), [
    ("weight", "0", "weight must be a finite number > 0"),
    ("weight", "inf", "weight must be a finite number > 0"),
    ("psu", "", "psu is empty"),
    ("stratum", "", "stratum is empty"),
    ("survey", "other", "survey is not 'ref-survey'"),
])
def test_bad_design_cell_is_declined_and_reported(run_cli, tmp_path, results, column, value,
                                                  message):
    rows = _rows()
    rows[2] = _set(rows[2], HEADER.split(",").index(column), value)
    path = _write(tmp_path, rows)
    status, _, err = run_cli("indices", str(path), "--questionnaire",
                             str(results / "ref-survey.yaml"))
    assert status == 2
    assert f"{path}: row 4, column {column}: {message}" in err


def test_an_empty_weight_counts_as_1_on_both_paths(run_cli, tmp_path, results):
    # The app's export leaves a self-selected answer's weight empty; its weight is 1.
    rows = _rows()
    column = HEADER.split(",").index("weight")
    empty = _write(tmp_path, [_set(r, column, "" if i % 3 == 0 else "1") for i, r in enumerate(rows)],
                   name="empty.csv")
    ones = _write(tmp_path, [_set(r, column, "1") for r in rows], name="ones.csv")
    q = str(results / "ref-survey.yaml")
    outputs = [run_cli("indices", str(path), "--questionnaire", q) for path in (empty, ones)]
    assert [status for status, _, _ in outputs] == [0, 0]
    assert outputs[0][1] == outputs[1][1]


def test_a_rating_written_4_0_is_read_by_the_careful_path_as_4(tmp_path, results):
    rows = _rows()
    plain = _write(tmp_path, [_set(r, 8, "4") for r in rows], name="plain.csv")
    rows = [_set(r, 8, "4.0" if i == 3 else "4") for i, r in enumerate(rows)]
    odd = _write(tmp_path, rows, name="odd.csv")
    q = str(results / "ref-survey.yaml")
    assert _cli_text(odd, q, "--by", "agency") == _cli_text(plain, q, "--by", "agency")


def test_empty_group_label_goes_to_the_careful_path(monkeypatch, tmp_path, results):
    rows = _rows()
    rows[4] = _set(rows[4], 2, "")
    path = _write(tmp_path, rows)
    fast, careful, calls = _both_paths(monkeypatch, path, str(results / "ref-survey.yaml"),
                                       "--by", "agency")
    assert calls == [False] and fast == careful
    assert {r["by"]["agency"] for r in json.loads(fast)["results"]} == {"A01", "A02", "A03",
                                                                         None}


def test_bytes_that_are_not_utf8_anywhere_are_an_error(run_cli, tmp_path, results):
    rows = [r + ",cafe" for r in _rows(600)]
    rows[-1] = rows[-1].replace("cafe", "caf\xe9")  # past what the header check decodes
    path = _write(tmp_path, rows, header=HEADER + ",comment", encoding="latin-1")
    status, _, err = run_cli("indices", str(path), "--questionnaire",
                             str(results / "ref-survey.yaml"))
    assert status == 2 and f"{path}: cannot parse" in err


def test_hex_check_sees_only_a_zero_before_x():
    assert not csv_arrow._hex_prefix(b"a,b\nxa,1\n")
    assert not csv_arrow._hex_prefix(b"a,b\n1x,1\n")
    assert csv_arrow._hex_prefix(b"a,b\nq,0X4\n")
    big = b"a,1,2\n" * 3_000_000 + b"z,0x5\n"  # past the first block
    assert csv_arrow._hex_prefix(big)


def test_cli_fast_path_imports_neither_pandas_nor_scipy(tmp_path, results):
    out = tmp_path / "o.json"
    code = ("import sys; from analysis.cli import main; "
            f"status = main(['indices', {str(results / 'designed.csv')!r}, '--questionnaire', "
            f"{str(results / 'ref-survey.yaml')!r}, '--by', 'agency', '--output', {str(out)!r}]); "
            "print(status, sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'scipy'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "0 []"


def test_windows_line_ends_take_the_fast_path(monkeypatch, tmp_path, results):
    path = tmp_path / "crlf.csv"
    path.write_bytes((HEADER + "\r\n" + "".join(r + "\r\n" for r in _rows())).encode())
    fast, careful, calls = _both_paths(monkeypatch, path, str(results / "ref-survey.yaml"),
                                       "--by", "agency")
    assert calls == [True] and fast == careful


def test_a_row_with_missing_cells_is_left_to_the_careful_path(monkeypatch, tmp_path, results):
    rows = _rows()
    rows[9] = ",".join(rows[9].split(",")[:8])  # pandas reads the absent cells as empty
    path = _write(tmp_path, rows)
    fast, careful, calls = _both_paths(monkeypatch, path, str(results / "ref-survey.yaml"))
    assert calls == [False] and fast == careful


def test_many_parse_blocks_give_the_same_columns(monkeypatch, results, ref_spec):
    """Chunked columns: validity bitmaps, offsets and dictionaries unified across blocks."""
    monkeypatch.setattr(csv_arrow, "BLOCK", 700)  # designed.csv in about 200 blocks
    path = results / "designed.csv"
    by = ["agency", "channel"]
    fast = read_responses(path, ref_spec, by=by)
    careful = read_responses(path, ref_spec, by=by, fast=False)
    assert isinstance(fast.psu, CodedColumn)
    for a, b in zip(fast.codes, careful.codes, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fast.weight, careful.weight)
    for name in ("agency", "channel"):
        np.testing.assert_array_equal(fast.by[name].labels[fast.by[name].codes],
                                      careful.by[name].to_numpy(dtype=object))
    a = estimate_indices(responses_to_totals(fast, ref_spec)).records()
    b = estimate_indices(responses_to_totals(careful, ref_spec)).records()
    assert a == b


def test_module_entry_point_flushes_standard_output_before_leaving(results):
    proc = subprocess.run([sys.executable, "-m", "analysis", "indices",
                           str(results / "designed.csv"), "--questionnaire",
                           str(results / "ref-survey.yaml"), "--by", "agency"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == ""
    assert json.loads(proc.stdout)["results"]
