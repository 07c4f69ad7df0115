"""The cell reduction's shortcuts give what the plain numpy formulations give."""

from __future__ import annotations

import numpy as np

from analysis.spec import ElementSpec, IndexSpec
from analysis.totals import _dense_unique, totals_from_codes


def test_dense_unique_is_np_unique():
    rng = np.random.default_rng(3)
    for size in (1, 7, 1000, 10_000_000):
        key = rng.integers(0, size, 5000)
        uniq, inv = _dense_unique(key, size)
        ref_uniq, ref_inv = np.unique(key, return_inverse=True)
        np.testing.assert_array_equal(uniq, ref_uniq)
        np.testing.assert_array_equal(inv, ref_inv)
        assert inv.dtype == np.int64


def test_cell_sums_match_a_plain_loop():
    rng = np.random.default_rng(4)
    spec = IndexSpec("t", 5, frozenset({4, 5}), (ElementSpec("E1", 1.0, ("A", "B")),))
    n = 3000
    codes = [rng.integers(0, 6, n).astype(np.int8) for _ in range(2)]
    weight = rng.uniform(0.5, 2, n)
    psu = rng.integers(0, 40, n).astype(str)
    totals = totals_from_codes(codes, spec, weight, psu=psu)
    for cell, p in enumerate(totals.cell_psu):
        rows = np.flatnonzero(np.sort(np.unique(psu))[p] == psu)
        for j, c in enumerate(codes):
            sel = c[rows]
            w = weight[rows]
            assert totals.n_answered[cell, j] == np.count_nonzero(sel)
            np.testing.assert_allclose(totals.ws[cell, j], w[sel >= 4].sum(), rtol=1e-13)
            np.testing.assert_allclose(totals.wa[cell, j], w[sel > 0].sum(), rtol=1e-13)
            np.testing.assert_allclose(totals.wr[cell, j], (w * sel).sum(), rtol=1e-13)


def test_own_cells_without_psu_hold_each_response():
    rng = np.random.default_rng(5)
    spec = IndexSpec("t", 5, frozenset({4, 5}), (ElementSpec("E1", 1.0, ("A", "B")),))
    n = 500
    codes = [rng.integers(0, 6, n).astype(np.int8) for _ in range(2)]
    weight = rng.uniform(0.5, 2, n)
    group = rng.choice(np.array(["g1", "g2", "g3"]), n)
    totals = totals_from_codes(codes, spec, weight, by={"g": group})
    order = np.argsort(group, kind="stable")  # cells run group by group, rows in file order
    assert len(totals.n) == n
    for j, c in enumerate(codes):
        np.testing.assert_array_equal(totals.ws[:, j], (weight * (c >= 4))[order])
        np.testing.assert_array_equal(totals.wr[:, j], (weight * c)[order])
        np.testing.assert_array_equal(totals.n_answered[:, j], (c > 0)[order])


def _fields(totals):
    return {k: getattr(totals, k) for k in totals.__dataclass_fields__ if k != "spec"}


def test_two_threads_give_the_same_bits(monkeypatch):
    import analysis.parallel as parallel

    rng = np.random.default_rng(6)
    spec = IndexSpec("t", 5, frozenset({4, 5}), (ElementSpec("E1", 1.0, ("A", "B", "C")),
                                                 ElementSpec("E2", 2.0, ("D",))))
    n = 20_000
    codes = [rng.integers(0, 6, n).astype(np.int8) for _ in range(4)]
    weight = rng.uniform(0.5, 2, n)
    psu, group = rng.integers(0, 300, n).astype(str), rng.integers(0, 7, n).astype(str)
    out = []
    for rows in (10**9, 0):
        monkeypatch.setattr(parallel, "PARALLEL_ROWS", rows)
        monkeypatch.setattr(parallel, "_cpus", lambda: 2)
        out.append([_fields(totals_from_codes(codes, spec, weight, psu=psu, by={"g": group})),
                    _fields(totals_from_codes(codes, spec, weight, by={"g": group}))])
    for one, two in zip(*out, strict=True):
        for k in one:
            a, b = np.asarray(one[k], dtype=object), np.asarray(two[k], dtype=object)
            assert a.shape == b.shape, k
            assert all(x == y for x, y in zip(a.ravel(), b.ravel(), strict=True)), k


def test_parallel_run_keeps_order_and_raises():
    import pytest

    from analysis.parallel import run

    assert run([lambda s, i=i: (i, s) for i in range(5)], 2, lambda: "x") == [
        (i, "x") for i in range(5)]
    assert run([lambda s: 1], 1) == [1]

    def bad(_):
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        run([lambda s: 1, bad, lambda s: 3], 2)


def test_nested_psus_give_the_cells_of_the_dense_unique(monkeypatch):
    import analysis.totals as totals_module

    rng = np.random.default_rng(7)
    n = 5000
    group = rng.integers(0, 30, n)
    week = rng.integers(0, 4, n)
    psu = np.char.add(np.char.add("A", group.astype(str)), week.astype(str))  # nested in group
    stratum = (group % 5).astype(str)
    cols = ([group.astype(str)], [], stratum, psu, n)
    fast = totals_module._cell_index(*cols)
    assert totals_module._nested_cells(np.array([0, 1]), np.array([0, 0]), 1) is None  # not nested
    monkeypatch.setattr(totals_module, "_nested_cells", lambda g, p, n_p: None)
    slow = totals_module._cell_index(*cols)
    np.testing.assert_array_equal(fast[0], slow[0])
    for k in ("cell_calib", "cell_group", "cell_psu"):
        np.testing.assert_array_equal(fast[1][k], slow[1][k])
        assert fast[1][k].dtype == slow[1][k].dtype
    np.testing.assert_array_equal(fast[4], slow[4])


def test_threads_follow_the_row_limit(monkeypatch):
    import analysis.parallel as parallel

    monkeypatch.setattr(parallel, "_cpus", lambda: 2)
    assert parallel.threads_for(parallel.PARALLEL_ROWS) == 2
    monkeypatch.setattr(parallel, "PARALLEL_ROWS", 10**12)
    assert parallel.threads_for(10**6) == 1 and parallel.threads_for(10, minimum=5) == 2
    monkeypatch.setattr(parallel, "_cpus", lambda: 1)
    assert parallel.threads_for(10**13) == 1
