"""The Arrow JSON encoder writes the same bytes as the Python encoder and as json.dumps."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import numpy as np
import pytest

from analysis import estimate_indices
from analysis.json_arrow import results_json

from .conftest import make_totals

pytest.importorskip("pyarrow")

#: Numbers where repr and Arrow's cast lay out the same digits differently, or repr differs.
AWKWARD = [0.0, -0.0, 1.0, 100.0, -3.5, 1e-4, 9.999999999999999e-05, 1e-05, 6.867644672947648e-05,
           1.5e-07, 5e-324, 1e-300, 123456789012.0, 123456789012345.0, 1e15, 9999999999999998.0,
           1e16, 1.2345e16, 1e22, 1.7976931348623157e308, 0.30000000000000004, 2.5,
           float("nan"), float("inf"), float("-inf"), -1e-5, 12345678.5, 0.1]


def _table(designed, ref_spec, **kw):
    return estimate_indices(make_totals(designed, ref_spec, by=("agency", "period")), **kw)


@pytest.mark.parametrize("kw", [{}, {"measure": "both", "ci_method": "korn-graubard"},
                                {"ci_method": "wald"}])
def test_same_bytes_as_python_encoder(designed, ref_spec, kw):
    table = _table(designed, ref_spec, **kw)
    text = results_json(table)
    assert text is not None
    assert text == table.results_json_python() == table.results_json()
    assert json.loads(text) == table.records()
    assert text == json.dumps(table.records(), ensure_ascii=False)


def test_awkward_numbers_and_texts(designed, ref_spec):
    table = _table(designed, ref_spec)
    rng = np.random.default_rng(3)
    m = len(AWKWARD)
    numbers = {name: rng.permutation(np.array(AWKWARD)) for name in
               ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff", "cv")}
    keys = ({"agency": 'Sở "Tư pháp"\\ \u2028', "period": None}, *table.keys[1:])
    small = replace(table, group=table.group[:m], measure=table.measure[:m],
                    level=table.level[:m], code=table.code[:m], n=table.n[:m],
                    df=table.df[:m] - 5, flags=(("p=0", "n<30"),) + table.flags[1:m],
                    suppressed=~table.suppressed[:m], keys=keys, **numbers)
    text = results_json(small)
    assert text == small.results_json_python()
    assert text == json.dumps(small.records(), ensure_ascii=False)


def test_random_floats_match_repr(designed, ref_spec):
    table = _table(designed, ref_spec)
    n = len(table.group)
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2**63, n, dtype=np.int64).view(np.float64)
    values = {"estimate": rng.random(n) * 100, "se": 10 ** rng.uniform(-6, 18, n),
              "ci_low": bits, "ci_high": rng.integers(-10**6, 10**6, n).astype(float),
              "n_eff": rng.integers(1, 10**6, n) / rng.integers(1, 10**6, n),
              "deff": np.round(rng.random(n) * 1000, 2), "cv": -(10 ** rng.uniform(-5, 5, n))}
    other = replace(table, **values)
    assert results_json(other) == other.results_json_python()


def test_no_pandas_import(designed, ref_spec):
    # the command line must not pay for importing pandas (pa.array and pa.scalar would)
    table = _table(designed, ref_spec)
    import subprocess

    code = ("import sys, pickle; from analysis.json_arrow import results_json; "
            "t = pickle.loads(sys.stdin.buffer.read()); results_json(t); "
            "print('pandas' in sys.modules)")
    import pickle

    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(table),
                         capture_output=True, check=True)
    assert out.stdout.strip() == b"False"


def test_empty_and_fallback(designed, ref_spec, monkeypatch):
    table = _table(designed, ref_spec)
    empty = replace(table, group=table.group[:0], measure=(), level=(), code=(),
                    **{k: getattr(table, k)[:0] for k in ("estimate", "se", "ci_low", "ci_high",
                                                          "n", "df", "n_eff", "deff", "cv",
                                                          "suppressed")}, flags=())
    assert results_json(empty) == "[]" == empty.results_json_python()
    import analysis.json_arrow as ja

    monkeypatch.setattr(ja, "results_json", lambda t: None)
    assert table.results_json() == table.results_json_python()


def test_two_threads_and_halves_give_the_same_bytes(designed, ref_spec, monkeypatch):
    import analysis.json_arrow as ja
    import analysis.parallel as parallel

    table = _table(designed, ref_spec, measure="both")
    monkeypatch.setattr(ja, "JSON_ROWS", 0)
    monkeypatch.setattr(parallel, "_cpus", lambda: 2)
    assert parallel.threads_for(len(table.group), ja.JSON_ROWS) == 2
    assert results_json(table) == table.results_json_python()
