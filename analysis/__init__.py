"""Statistical core of the SIPAS platform: satisfaction indices from survey data.

Pure functions and frozen dataclasses over numpy arrays; no web framework.
The CLI (``python -m analysis``) and the web reports share this code:

- :func:`totals_from_rows` / :func:`totals_from_table` reduce responses or a
  SQL aggregate table to :class:`PsuTotals` (cells of group × stratum × PSU);
- :func:`estimate_indices` gives criterion, element and overall indices with
  design-based standard errors, degrees of freedom and intervals;
- :func:`poststratify`, :func:`rake` and :func:`calibrate` calibrate the weights;
- :func:`compare_groups`, :func:`compare_to_all`, :func:`trend` and
  :func:`rank_groups` compare domains.

docs/METHODOLOGY.md gives every formula and convention.
"""

from .compare import (
    Difference,
    Ranking,
    compare_groups,
    compare_to_all,
    rank_groups,
    trend,
)
from .errors import AnalysisError
from .estimate import MEASURES, IndexTable, estimate_indices, linearise
from .intervals import CI_METHODS, confidence_intervals
from .io import DataError, read_population, read_responses, responses_to_totals
from .reporting import ReportingRules
from .spec import ElementSpec, IndexSpec
from .totals import PsuTotals, totals_from_codes, totals_from_rows, totals_from_table
from .weighting import Calibration, CalibrationError, Margin, calibrate, poststratify, rake

__all__ = [
    "AnalysisError",
    "CI_METHODS",
    "Calibration",
    "CalibrationError",
    "DataError",
    "Difference",
    "ElementSpec",
    "IndexSpec",
    "IndexTable",
    "MEASURES",
    "Margin",
    "PsuTotals",
    "Ranking",
    "ReportingRules",
    "calibrate",
    "compare_groups",
    "compare_to_all",
    "confidence_intervals",
    "estimate_indices",
    "linearise",
    "poststratify",
    "rake",
    "rank_groups",
    "read_population",
    "read_responses",
    "responses_to_totals",
    "totals_from_codes",
    "totals_from_rows",
    "totals_from_table",
    "trend",
]
