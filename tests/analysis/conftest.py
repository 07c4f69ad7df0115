"""Fixtures for the analysis tests: the reference data set and a CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.questionnaire import load_questionnaire
from analysis.spec import IndexSpec
from analysis.totals import totals_from_rows

RESULTS = Path(__file__).parent / "results"


@pytest.fixture(scope="session")
def results() -> Path:
    """Directory of the committed reference data and numbers."""
    return RESULTS


@pytest.fixture(scope="session")
def ref_spec() -> IndexSpec:
    """Index structure of the reference questionnaire."""
    return IndexSpec.from_questionnaire(load_questionnaire(RESULTS / "ref-survey.yaml"))


@pytest.fixture(scope="session")
def designed() -> pd.DataFrame:
    """The designed reference sample (tests/analysis/results/designed.csv)."""
    return pd.read_csv(RESULTS / "designed.csv", dtype={"psu": str, "period": str})


def make_totals(frame: pd.DataFrame, spec: IndexSpec, by=(), calibration=()):
    """Row-level totals of a frame shaped like designed.csv."""
    return totals_from_rows(
        {k: frame[k].to_numpy(float) for k in spec.criteria}, spec,
        weight=frame["weight"].to_numpy(), stratum=frame["stratum"].to_numpy(),
        psu=frame["psu"].to_numpy(), by={b: frame[b].to_numpy() for b in by},
        calibration={c: frame[c].to_numpy() for c in calibration},
    )


@pytest.fixture
def run_cli(capsys, tmp_path):
    """Run ``python -m analysis`` in-process; returns (status, parsed JSON or text, stderr)."""

    def run(*args: str, fmt: str = "json"):
        out = tmp_path / f"out.{fmt}"
        status = main([*args, "--format", fmt, "--output", str(out)])
        err = capsys.readouterr().err
        if status != 0:
            return status, None, err
        text = out.read_text(encoding="utf-8")
        return status, json.loads(text) if fmt == "json" else text, err

    return run


def records_frame(payload: dict) -> pd.DataFrame:
    """CLI JSON results as a frame with a ``group`` column (agency or ALL)."""
    frame = pd.DataFrame(payload["results"])
    frame["group"] = frame["by"].map(lambda b: b.get("agency", "ALL"))
    return frame


def assert_close(actual, expected, rtol: float = 1e-6, atol: float = 0.0) -> None:
    """assert_allclose with the tolerance the reference comparisons use."""
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float),
                               rtol=rtol, atol=atol)
