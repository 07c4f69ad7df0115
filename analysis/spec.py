"""What the indices are made of: criteria, elements, element weights and the scale.

The estimators need only this much of a questionnaire, so they take an
:class:`IndexSpec`; :meth:`IndexSpec.from_questionnaire` builds one from a
loaded questionnaire (FORMATS.md §1: only ``likert`` questions inside
``elements`` feed the indices).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import AnalysisError

__all__ = ["ElementSpec", "IndexSpec"]


@dataclass(frozen=True)
class ElementSpec:
    """One element (sub-index): its code, weight ω_E and likert criteria."""

    code: str
    weight: float
    criteria: tuple[str, ...]


@dataclass(frozen=True)
class IndexSpec:
    """The index structure of a questionnaire.

    Parameters
    ----------
    code : str
        Questionnaire code (reported in ``meta``).
    points : int
        Ratings are integers ``1..points``.
    satisfied : frozenset of int
        Ratings that count as satisfied.
    elements : tuple of ElementSpec
        Elements in questionnaire order; elements without likert criteria
        are left out.
    """

    code: str
    points: int
    satisfied: frozenset[int]
    elements: tuple[ElementSpec, ...]

    def __post_init__(self) -> None:
        if self.points < 2:
            raise AnalysisError(f"scale must have at least 2 points, got {self.points}")
        if not self.elements:
            raise AnalysisError(f"questionnaire {self.code!r} has no likert criteria in elements")
        if any(e.weight < 0 for e in self.elements) or self.total_weight <= 0:
            raise AnalysisError("element weights must be >= 0 with a positive sum")
        bad = sorted(r for r in self.satisfied if not 1 <= r <= self.points)
        if bad:
            raise AnalysisError(f"satisfied ratings {bad} are outside 1..{self.points}")

    @property
    def criteria(self) -> tuple[str, ...]:
        """All criteria codes, element by element."""
        return tuple(c for e in self.elements for c in e.criteria)

    @property
    def total_weight(self) -> float:
        """Σ_E ω_E."""
        return float(sum(e.weight for e in self.elements))

    @classmethod
    def from_questionnaire(cls, questionnaire: Any) -> IndexSpec:
        """Build the spec from a :class:`analysis.questionnaire.Questionnaire`."""
        elements = []
        for element in questionnaire.elements:
            codes = tuple(q.code for q in element.questions if q.type == "likert")
            if codes:
                elements.append(ElementSpec(element.code, float(element.weight), codes))
        scale = questionnaire.scale
        return cls(
            code=questionnaire.code,
            points=int(scale.points),
            satisfied=frozenset(int(r) for r in scale.satisfied),
            elements=tuple(elements),
        )
