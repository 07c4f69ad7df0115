"""Reporting rules: flag or suppress estimates that are too thin to rank on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import AnalysisError

__all__ = ["ReportingRules", "apply_rules", "rule_masks"]


@dataclass(frozen=True)
class ReportingRules:
    """Minimum n and maximum coefficient of variation for a reportable estimate.

    Parameters
    ----------
    min_n : int
        Estimates from fewer responses are flagged ``n<min_n`` (default 30).
    max_cv : float
        Estimates with CV = se/estimate above this are flagged ``cv>max_cv``
        (default 0.3).
    suppress : bool
        If true, flagged estimates are also blanked (estimate, se and
        interval null) and ``suppressed`` is true; by default they are only
        flagged and ``suppressed`` says they fail a rule.

    Notes
    -----
    Defaults follow common official-statistics practice (e.g. Statistics
    Canada and the U.S. NCHS treat CV > 0.3 or very small n as unreliable).
    """

    min_n: int = 30
    max_cv: float = 0.3
    suppress: bool = False

    def __post_init__(self) -> None:
        if self.min_n < 0 or not self.max_cv > 0:
            raise AnalysisError("min_n must be >= 0 and max_cv > 0")

    def as_dict(self) -> dict:
        """The rules as a JSON-ready mapping."""
        return {"min_n": self.min_n, "max_cv": self.max_cv, "suppress": self.suppress}


def rule_masks(rules: ReportingRules, n: np.ndarray, cv: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The rule flags and, for each, which records it marks: n below min_n, then CV above max_cv."""
    few = np.asarray(n) < rules.min_n
    with np.errstate(invalid="ignore"):
        noisy = np.isfinite(cv) & (np.asarray(cv) > rules.max_cv)
    return [(f"n<{rules.min_n}", few), (f"cv>{rules.max_cv:g}", noisy)]


def apply_rules(rules: ReportingRules, n: np.ndarray, cv: np.ndarray,
                flags: list[list[str]]) -> np.ndarray:
    """Append rule flags in place to ``flags``; return which records fail a rule."""
    masks = rule_masks(rules, n, cv)
    for name, mask in masks:
        for i in np.flatnonzero(mask):
            flags[i].append(name)
    return masks[0][1] | masks[1][1]
