"""Errors raised on purpose by the analysis package; all derive from `AnalysisError`."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["AnalysisError", "QuestionnaireError"]


class AnalysisError(Exception):
    """Common base of every error the analysis package raises on purpose."""


class QuestionnaireError(AnalysisError):
    """An invalid questionnaire; `.errors` lists every fault found, one message each."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors: list[str] = [errors] if isinstance(errors, str) else list(errors)
        # The list itself goes to args so that pickling (multiprocessing, logging
        # handlers) rebuilds the same error instead of a list of characters.
        super().__init__(self.errors)

    def __str__(self) -> str:
        return "\n".join(self.errors)
