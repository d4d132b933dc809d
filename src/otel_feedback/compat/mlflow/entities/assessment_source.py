"""MLflow's ``AssessmentSource`` and ``AssessmentSourceType``: who gave an assessment.

``source_type`` becomes ``feedback.source.type`` (``HUMAN``, ``LLM_JUDGE`` or ``CODE``; the
legacy ``AI_JUDGE`` is read as ``LLM_JUDGE`` with a ``FutureWarning``, as MLflow does) and
``source_id`` becomes ``feedback.source.id``.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

from otel_feedback.errors import InvalidFeedbackError
from otel_feedback.reporting import report


class AssessmentSourceType:
    """The kinds of assessment source (input is case-insensitive)."""

    SOURCE_TYPE_UNSPECIFIED = "SOURCE_TYPE_UNSPECIFIED"
    LLM_JUDGE = "LLM_JUDGE"
    AI_JUDGE = "AI_JUDGE"  # legacy spelling of LLM_JUDGE
    HUMAN = "HUMAN"
    CODE = "CODE"
    _SOURCE_TYPES = (SOURCE_TYPE_UNSPECIFIED, LLM_JUDGE, HUMAN, CODE)

    def __init__(self, source_type: str) -> None:
        self._source_type = AssessmentSourceType._parse(source_type)

    @staticmethod
    def _parse(source_type: object) -> str:
        text = str(source_type).strip().upper()
        if text == AssessmentSourceType.AI_JUDGE:
            warnings.warn(
                "AI_JUDGE is deprecated. Use LLM_JUDGE instead.", FutureWarning, stacklevel=4
            )
            text = AssessmentSourceType.LLM_JUDGE
        if text not in AssessmentSourceType._SOURCE_TYPES:
            report(
                "invalid_value",
                InvalidFeedbackError(
                    f"invalid assessment source type {source_type!r}; valid: "
                    f"{list(AssessmentSourceType._SOURCE_TYPES)} (recorded without a type)"
                ),
            )
            return AssessmentSourceType.SOURCE_TYPE_UNSPECIFIED
        return text

    @staticmethod
    def _standardize(source_type: object) -> str:
        return str(AssessmentSourceType(str(source_type)))

    def __str__(self) -> str:
        return self._source_type


@dataclass
class AssessmentSource:
    """Who or what gave an assessment: ``source_type`` and ``source_id``."""

    source_type: str
    source_id: str = "default"

    def __post_init__(self) -> None:
        self.source_type = AssessmentSourceType._standardize(self.source_type)

    def to_dictionary(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dictionary(cls, source_dict: dict[str, Any]) -> AssessmentSource:
        return cls(**source_dict)

    @property
    def otel_source_type(self) -> str | None:
        """The ``feedback.source.type`` (``None`` when unspecified)."""
        if self.source_type == AssessmentSourceType.SOURCE_TYPE_UNSPECIFIED:
            return None
        return self.source_type


__all__ = ["AssessmentSource", "AssessmentSourceType"]
