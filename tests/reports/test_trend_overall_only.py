"""The trend (issue 15, item 7) estimates OVERALL from each element's criteria added into one:
the same records, to the bit, as estimating every statistic."""

from __future__ import annotations

import pytest

from app.services.reports import estimates as rs
from app.services.reports import pages


@pytest.mark.parametrize("args", [{}, {"weighting": "unweighted"}, {"channel": "paper"}, {"verified": "1"},
                                  {"start": "2025-03", "end": "2025-08"}, {"measure": "mean-score"},
                                  {"weighting": "poststratified"}])
def test_the_trend_equals_the_overall_of_every_statistic(province, args):
    filters = rs.ReportFilters.from_args(args)
    for root in (province.province.id, province.district.id):
        scope = pages.open_scope(root, filters)
        ids, start, end = scope.ids, scope.start, scope.end

        def label_of(agency, month, ids=ids, start=start, end=end):
            return month if agency in ids and start <= month <= end else None

        def overall(scope=scope, label_of=label_of, **options):
            domains = pages._domains(scope, scope.design, label_of, **options)
            return [r for r in rs.estimate(domains, filters) if r["code"] == "OVERALL" and r["n"]]

        every = overall()
        assert len(every) >= 3
        # repr: exact for floats, NaN equal to itself.
        assert repr(overall(overall_only=True)) == repr(every)
        assert [p["estimate"] for p in pages.build_trend(scope)] == [r["estimate"] for r in every]
