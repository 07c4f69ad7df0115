"""Statistical core of the SIPAS platform: satisfaction indices from survey data.

Pure functions and frozen dataclasses over numpy arrays; no web framework.
The CLI (``python -m analysis``) and the web reports share this code:

- :func:`totals_from_rows` / :func:`totals_from_table` reduce responses or a
  SQL aggregate table to :class:`PsuTotals` (cells of group × stratum × PSU);
- :func:`estimate_indices` gives criterion, element and overall indices with
  design-based standard errors, degrees of freedom and intervals;
- :func:`poststratify`, :func:`rake` and :func:`calibrate` calibrate the weights;
- :func:`compare_groups`, :func:`compare_to_all`, :func:`trend` and
  :func:`rank_groups` compare domains;
- :func:`write_totals`, :func:`read_totals`, :func:`sign_totals` and
  :func:`verify_totals` make, check and sign a unit's totals file, which
  :func:`combine_totals` pools for the national roll-up (FORMATS.md §7);
- :func:`sample_size`, :func:`allocate`, :func:`plan_strata`,
  :func:`draw_sample`, :func:`design_weights` and :func:`with_fpc` plan,
  draw and weight an official survey's stratified sample (issue 19).

docs/METHODOLOGY.md gives every formula and convention.
"""

from importlib import import_module

# Names are loaded from their modules on first use (PEP 562): ``python -m analysis``
# imports this package first, and the command line should pay only for what it runs.
_HOME = {
    "Difference": "compare", "Ranking": "compare", "compare_groups": "compare",
    "compare_to_all": "compare", "rank_groups": "compare", "trend": "compare",
    "AnalysisError": "errors",
    "MEASURES": "estimate", "IndexTable": "estimate", "estimate_indices": "estimate",
    "linearise": "estimate",
    "CI_METHODS": "intervals", "confidence_intervals": "intervals",
    "DataError": "io", "read_population": "io", "read_responses": "io",
    "responses_to_totals": "io",
    "ReportingRules": "reporting",
    "SamplingError": "sampling", "allocate": "sampling", "design_weights": "sampling",
    "draw_sample": "sampling", "plan_strata": "sampling", "sample_size": "sampling",
    "with_fpc": "sampling",
    "ElementSpec": "spec", "IndexSpec": "spec",
    "PsuTotals": "totals", "totals_from_codes": "totals", "totals_from_rows": "totals",
    "totals_from_table": "totals",
    "TotalsFile": "totals_file", "read_totals": "totals_file", "sign_totals": "totals_file",
    "table_from_responses": "totals_file", "verify_totals": "totals_file", "write_totals": "totals_file",
    "combine_totals": "rollup",
    "Calibration": "weighting", "CalibrationError": "weighting", "Margin": "weighting",
    "calibrate": "weighting", "poststratify": "weighting", "rake": "weighting",
}


def __getattr__(name: str):
    if name in _HOME:
        value = getattr(import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


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
    "SamplingError",
    "TotalsFile",
    "allocate",
    "calibrate",
    "combine_totals",
    "compare_groups",
    "compare_to_all",
    "confidence_intervals",
    "design_weights",
    "draw_sample",
    "estimate_indices",
    "linearise",
    "plan_strata",
    "poststratify",
    "rake",
    "rank_groups",
    "read_population",
    "read_responses",
    "read_totals",
    "responses_to_totals",
    "sample_size",
    "sign_totals",
    "table_from_responses",
    "totals_from_codes",
    "totals_from_rows",
    "totals_from_table",
    "trend",
    "verify_totals",
    "with_fpc",
    "write_totals",
]
