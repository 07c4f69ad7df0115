"""Streaming reduction (issue 20 item 4): CSV and Parquet read in batches give the in-memory
path's cells and numbers, and bad input is refused with row and column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import singletons, streaming
from analysis.cli import main
from analysis.estimate import estimate_indices
from analysis.io import DataError, read_responses, responses_to_totals
from analysis.streaming import responses_totals, stream_totals


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of a few hundred rows, so that the fixtures span many of them."""
    monkeypatch.setattr(streaming, "CSV_BLOCK", 1 << 14)
    monkeypatch.setattr(streaming, "PARQUET_ROWS", 300)
    monkeypatch.setattr(singletons, "MOMENT_ROWS", 500)
    monkeypatch.setattr(singletons, "GROUP_VALUES", 2000)  # calibrated se: a few groups a step


def _header(path):
    return path.read_text(encoding="utf-8").split("\n", 1)[0].split(",")


def _same(a, b, spec) -> None:
    """Two PsuTotals hold the same cells and sums (to rounding), and the same estimates."""
    assert [list(x) for x in a.group_labels] == [list(x) for x in b.group_labels]
    for name in ("cell_group", "cell_psu", "psu_stratum", "n", "n_answered", "n_element", "n_any"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for name in ("w", "ws", "wa", "wr"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-13, atol=1e-12)
    for measure in ("satisfied", "mean-score"):
        x, y = estimate_indices(a, measure=measure), estimate_indices(b, measure=measure)
        np.testing.assert_allclose(x.estimate, y.estimate, rtol=1e-12)
        np.testing.assert_allclose(x.se, y.se, rtol=1e-12)
        assert np.array_equal(x.n, y.n)


@pytest.mark.parametrize("by", [[], ["agency"], ["agency", "channel"], ["period"]])
def test_csv_batches_equal_in_memory(results, ref_spec, small_batches, by):
    path = results / "designed.csv"
    streamed, missing = stream_totals(path, ref_spec, header=_header(path), by=by)
    assert missing == ()
    whole = responses_to_totals(read_responses(path, ref_spec, by=by), ref_spec)
    _same(streamed, whole, ref_spec)


def test_calibration_cells_equal_in_memory(results, ref_spec, small_batches):
    path = results / "designed.csv"
    streamed, _ = stream_totals(path, ref_spec, header=_header(path), by=["agency"],
                                calibration=["channel"])
    whole = responses_to_totals(read_responses(path, ref_spec, by=["agency"],
                                               calibration=["channel"]), ref_spec)
    assert list(streamed.calib_labels[0]) == list(whole.calib_labels[0])
    assert np.array_equal(streamed.cell_calib, whole.cell_calib)
    _same(streamed, whole, ref_spec)


def _parquet(results, tmp_path, change=None, numeric=True):
    frame = pd.read_csv(results / "designed.csv", dtype=str, keep_default_na=False)
    if change:
        change(frame)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if numeric:  # ratings as nullable integers, weight as double, the way a database writes them
        for c in frame.columns:
            if c.startswith("E") or c == "weight":
                typ = pa.float64() if c == "weight" else pa.int64()
                values = pd.to_numeric(frame[c].replace("", None))
                table = table.set_column(table.column_names.index(c), c,
                                         pa.array(values, type=pa.float64()).cast(typ))
    path = tmp_path / "designed.parquet"
    pq.write_table(table, path, row_group_size=500)
    return path


@pytest.mark.parametrize("numeric", [True, False])
def test_parquet_equals_csv_through_cli(results, tmp_path, small_batches, numeric):
    path = _parquet(results, tmp_path, numeric=numeric)
    common = ["--questionnaire", str(results / "ref-survey.yaml"), "--by", "agency",
              "--measure", "both", "--format", "csv"]
    a, b = tmp_path / "csv.csv", tmp_path / "parquet.csv"
    assert main(["indices", str(results / "designed.csv"), *common, "--output", str(a)]) == 0
    assert main(["indices", str(path), *common, "--output", str(b)]) == 0
    x, y = pd.read_csv(a), pd.read_csv(b)
    assert len(x) == len(y) > 50
    assert list(x["code"]) == list(y["code"]) and list(x["n"]) == list(y["n"])
    for col in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(y[col], x[col], rtol=1e-12)


def test_parquet_bad_rating_named_with_row_and_column(results, tmp_path, small_batches, capsys):
    def bad(frame):
        frame.loc[700, "E2_1"] = "7"

    path = _parquet(results, tmp_path, bad)
    status = main(["indices", str(path), "--questionnaire", str(results / "ref-survey.yaml")])
    assert status == 2
    assert f"{path}: row 702, column E2_1: rating must be an integer 1..5" in capsys.readouterr().err


def test_parquet_empty_psu_and_wrong_survey(results, tmp_path, ref_spec, small_batches):
    def empty(frame):
        frame.loc[450, "psu"] = ""

    with pytest.raises(DataError) as info:
        responses_totals(_parquet(results, tmp_path, empty), ref_spec)
    assert info.value.problems[0][1:] == (452, "psu", "psu is empty")

    def wrong(frame):
        frame.loc[1000, "survey"] = "other"

    with pytest.raises(DataError) as info:
        responses_totals(_parquet(results, tmp_path, wrong), ref_spec)
    assert info.value.problems[0][1:3] == (1002, "survey")


def test_bad_csv_batch_falls_back_to_careful_reader(results, tmp_path, ref_spec, small_batches):
    lines = (results / "designed.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[1500].split(",")
    cells[-1] = "9"
    lines[1500] = ",".join(cells)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert stream_totals(path, ref_spec, header=_header(path)) is None
    with pytest.raises(DataError) as info:
        responses_totals(path, ref_spec)
    assert info.value.problems[0][1:3] == (1501, "E3_2")


def test_csv_without_psu_is_read_whole(results, tmp_path, ref_spec):
    frame = pd.read_csv(results / "designed.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "nopsu.csv"
    frame.drop(columns=["psu"]).to_csv(path, index=False)
    assert stream_totals(path, ref_spec, header=_header(path)) is None
    totals, _ = responses_totals(path, ref_spec)
    assert totals.n_psu == len(frame)


@pytest.mark.parametrize("drop", [["psu"], ["psu", "stratum"], ["psu", "weight"]])
@pytest.mark.parametrize("by", [[], ["agency"], ["channel"], ["agency", "period"]])
def test_without_psu_moments_equal_in_memory(results, ref_spec, tmp_path, small_batches, drop, by):
    """Every response its own PSU, the variance from (group × stratum) moments: the in-memory
    path's estimates, se (to 1e-12 here; 1e-9 is the brief), n, df and flags."""
    from analysis.singletons import stream_singleton_indices

    frame = pd.read_csv(results / "designed.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "nopsu.csv"
    frame.drop(columns=drop).to_csv(path, index=False)
    whole = responses_to_totals(read_responses(path, ref_spec, by=by), ref_spec)
    for measure in ("satisfied", "mean-score", "both"):
        a = stream_singleton_indices(path, ref_spec, header=_header(path), by=by, measure=measure)
        b = estimate_indices(whole, measure=measure)
        assert a.keys == b.keys and a.code == b.code and a.measure == b.measure
        np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-13)
        np.testing.assert_allclose(a.se, b.se, rtol=1e-12, atol=1e-12)
        assert np.array_equal(a.n, b.n) and np.array_equal(a.df, b.df)
        assert a.flags == b.flags and a.meta == b.meta


def test_without_psu_cli_streams_csv_and_parquet(results, tmp_path, small_batches, monkeypatch):
    """The command line takes the moments path for a Parquet file and a large CSV without psu,
    and writes what the in-memory path writes."""
    frame = pd.read_csv(results / "designed.csv", dtype=str, keep_default_na=False)
    csv_path = tmp_path / "nopsu.csv"
    frame.drop(columns=["psu"]).to_csv(csv_path, index=False)
    pq.write_table(pa.Table.from_pandas(frame.drop(columns=["psu"]), preserve_index=False),
                   tmp_path / "nopsu.parquet", row_group_size=400)
    common = ["--questionnaire", str(results / "ref-survey.yaml"), "--by", "agency",
              "--measure", "both", "--format", "csv"]
    out = {}
    calls = []
    real = singletons.stream_singleton_indices
    monkeypatch.setattr(singletons, "stream_singleton_indices",
                        lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    for name, source, threshold in [("memory", csv_path, 1 << 40), ("csv", csv_path, 0),
                                    ("parquet", tmp_path / "nopsu.parquet", 1 << 40)]:
        monkeypatch.setattr(streaming, "STREAM_MIN_BYTES_NO_PSU", threshold)
        out[name] = tmp_path / f"{name}.csv"
        assert main(["indices", str(source), *common, "--output", str(out[name])]) == 0
    assert calls == [csv_path, tmp_path / "nopsu.parquet"]
    x = pd.read_csv(out["memory"])
    for name in ("csv", "parquet"):
        y = pd.read_csv(out[name])
        assert list(y["code"]) == list(x["code"]) and list(y["n"]) == list(x["n"])
        assert list(y["flags"].fillna("")) == list(x["flags"].fillna(""))
        for col in ("estimate", "se", "ci_low", "ci_high"):
            np.testing.assert_allclose(y[col], x[col], rtol=1e-12)


def _margins(results, names):
    from analysis.io import read_population
    from analysis.weighting import Margin

    files = {"agency": "population.csv", "channel": "population_channel.csv"}
    return [Margin.from_table(read_population(results / files[c], [c]), [c]) for c in names]


@pytest.mark.parametrize("drop", [["psu"], ["psu", "stratum"], ["psu", "weight"]])
@pytest.mark.parametrize("calib", [["agency"], ["channel"], ["agency", "channel"]])
@pytest.mark.parametrize("by", [[], ["agency"], ["channel"], ["agency", "period"]])
def test_without_psu_calibrated_moments_equal_in_memory(results, ref_spec, tmp_path, small_batches,
                                                         drop, calib, by):
    """Post-stratified (one margin) and raked (two) weights on the moments path: the in-memory
    path's estimates and se to 1e-12, n, df and flags (p = 100 where every answer is at the top:
    the in-memory sums may miss it by the last bit)."""
    from analysis.singletons import stream_singleton_indices
    from analysis.weighting import calibrate

    frame = pd.read_csv(results / "designed.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "nopsu.csv"
    frame.drop(columns=drop).to_csv(path, index=False)
    margins = _margins(results, calib)
    whole = responses_to_totals(read_responses(path, ref_spec, by=by, calibration=calib), ref_spec)
    cal = calibrate(whole, margins)
    a = stream_singleton_indices(path, ref_spec, header=_header(path), by=by, measure="both",
                                 margins=margins)
    b = estimate_indices(cal.apply(whole), measure="both", calibration=cal)
    assert a.keys == b.keys and a.code == b.code and a.measure == b.measure
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-12)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-12, atol=1e-12)
    assert np.array_equal(a.n, b.n) and np.array_equal(a.df, b.df)
    for i, (x, y) in enumerate(zip(a.flags, b.flags, strict=True)):
        assert set(x) - {"p=100"} == set(y) - {"p=100"}
        assert ("p=100" in x) == (a.estimate[i] == 100) and ("p=100" not in y or "p=100" in x)
    ca, cb = a.meta.pop("calibration"), b.meta.pop("calibration")
    tol = 1e-10 * margins[0].totals.sum()  # calibrate's convergence criterion
    assert ca.pop("max_abs_error") <= tol and cb.pop("max_abs_error") <= tol and ca == cb
    assert a.meta == b.meta


def test_without_psu_parquet_poststratified_streams(results, tmp_path, small_batches, monkeypatch):
    """A Parquet file without psu, post-stratified or raked, goes through the moments path (it
    was refused) and writes what the in-memory path writes for the same CSV."""
    frame = pd.read_csv(results / "designed.csv", dtype=str, keep_default_na=False)
    csv_path = tmp_path / "nopsu.csv"
    frame.drop(columns=["psu"]).to_csv(csv_path, index=False)
    parquet_path = tmp_path / "nopsu.parquet"
    pq.write_table(pa.Table.from_pandas(frame.drop(columns=["psu"]), preserve_index=False),
                   parquet_path, row_group_size=400)
    calls = []
    real = singletons.stream_singleton_indices
    monkeypatch.setattr(singletons, "stream_singleton_indices",
                        lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    monkeypatch.setattr(streaming, "STREAM_MIN_BYTES_NO_PSU", 1 << 40)
    for weighting in (["--poststratify-by", "agency", "--population",
                       str(results / "population.csv")],
                      ["--rake", f"agency={results / 'population.csv'}",
                       "--rake", f"channel={results / 'population_channel.csv'}"]):
        common = ["--questionnaire", str(results / "ref-survey.yaml"), "--by", "channel",
                  "--measure", "both", "--format", "csv", *weighting]
        out = {}
        for name, source in [("memory", csv_path), ("parquet", parquet_path)]:
            out[name] = tmp_path / f"{name}.csv"
            assert main(["indices", str(source), *common, "--output", str(out[name])]) == 0
        x, y = pd.read_csv(out["memory"]), pd.read_csv(out["parquet"])
        assert len(x) == len(y) > 50
        assert list(y["code"]) == list(x["code"]) and list(y["n"]) == list(x["n"])
        assert list(y["df"]) == list(x["df"])
        for col in ("estimate", "se", "ci_low", "ci_high"):
            np.testing.assert_allclose(y[col], x[col], rtol=1e-12)
    assert calls == [parquet_path, parquet_path]


def test_without_psu_streamed_population_problem_named(results, tmp_path, small_batches, capsys):
    """A population row without responses is named with its file and row on the moments path."""
    frame = pd.read_csv(results / "designed.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "nopsu.parquet"
    pq.write_table(pa.Table.from_pandas(frame.drop(columns=["psu"]), preserve_index=False), path)
    pop = tmp_path / "pop.csv"
    pop.write_text((results / "population.csv").read_text(encoding="utf-8") + "A99,100\n",
                   encoding="utf-8")
    status = main(["indices", str(path), "--questionnaire", str(results / "ref-survey.yaml"),
                   "--poststratify-by", "agency", "--population", str(pop)])
    assert status == 2
    rows = len(pop.read_text(encoding="utf-8").splitlines())
    assert f"{pop}: row {rows}, column agency" in capsys.readouterr().err
