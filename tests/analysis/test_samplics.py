"""Agreement with an independent implementation: samplics' Taylor ratio estimator.

samplics has no "adjust" rule for single-PSU strata, so the comparison uses
designed.csv without its single-PSU stratum S5. samplics takes the degrees
of freedom of the whole design for every domain, whereas FORMATS.md §3 uses
the domain's; intervals are compared where the two agree (the whole
sample) and, for domains, through the half-width divided by its t quantile.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from .conftest import assert_close, make_totals

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from samplics.estimation import TaylorEstimator
    from samplics.utils.types import PopParam

RTOL = 1e-6


@pytest.fixture(scope="module")
def sample(designed):
    return designed[designed["stratum"] != "S5"].reset_index(drop=True)


def _samplics(sample, code, domain=None):
    rating = sample[code].to_numpy(float)
    est = TaylorEstimator(PopParam.ratio)
    est.estimate(y=(rating >= 4).astype(float), x=(~np.isnan(rating)).astype(float),
                 samp_weight=sample["weight"].to_numpy(), stratum=sample["stratum"].to_numpy(),
                 psu=(sample["stratum"] + "/" + sample["psu"]).to_numpy(), domain=domain)
    return est


@pytest.mark.parametrize("code", ["E1_1", "E2_2", "E3_2"])
def test_whole_sample_matches_samplics(sample, ref_spec, code):
    from analysis.estimate import estimate_indices

    table = estimate_indices(make_totals(sample, ref_spec), ci_method="wald")
    i = table.code.index(code)
    ref = _samplics(sample, code)
    assert_close(table.estimate[i] / 100, ref.point_est, RTOL)
    assert_close(table.se[i] / 100, ref.stderror, RTOL)
    assert table.df[i] == ref.degree_of_freedom
    assert_close(table.ci_low[i] / 100, ref.lower_ci, RTOL)
    assert_close(table.ci_high[i] / 100, ref.upper_ci, RTOL)


@pytest.mark.parametrize("code", ["E1_1", "E3_1"])
def test_domains_match_samplics(sample, ref_spec, code):
    from analysis.estimate import estimate_indices

    table = estimate_indices(make_totals(sample, ref_spec, by=("agency",)), ci_method="wald")
    ref = _samplics(sample, code, domain=sample["agency"].to_numpy())
    t_ref = stats.t.ppf(0.975, ref.degree_of_freedom)
    for i in [j for j, c in enumerate(table.code) if c == code]:
        agency = table.keys[table.group[i]]["agency"]
        assert_close(table.estimate[i] / 100, ref.point_est[agency], RTOL)
        assert_close(table.se[i] / 100, ref.stderror[agency], RTOL, atol=1e-15)
        if table.df[i] >= 1 and table.se[i] > 0:
            se_from_ci = (ref.point_est[agency] - ref.lower_ci[agency]) / t_ref
            t_ours = stats.t.ppf(0.975, table.df[i])
            assert_close(table.estimate[i] / 100 - table.ci_low[i] / 100, t_ours * se_from_ci,
                         RTOL)
