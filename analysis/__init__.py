"""Statistical core of the SIPAS platform: satisfaction indices from survey data.

Pure functions and frozen dataclasses over numpy arrays; no web framework.
The CLI (``python -m analysis``) and the web reports share this code.
"""

from .errors import AnalysisError
from .estimate import MEASURES, IndexTable, estimate_indices, linearise
from .intervals import CI_METHODS, confidence_intervals
from .reporting import ReportingRules
from .spec import ElementSpec, IndexSpec
from .totals import PsuTotals, totals_from_rows, totals_from_table

__all__ = [
    "AnalysisError",
    "CI_METHODS",
    "ElementSpec",
    "IndexSpec",
    "IndexTable",
    "MEASURES",
    "PsuTotals",
    "ReportingRules",
    "confidence_intervals",
    "estimate_indices",
    "linearise",
    "totals_from_rows",
    "totals_from_table",
]
