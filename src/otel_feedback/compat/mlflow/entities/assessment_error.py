"""MLflow's ``AssessmentError``: why a judge could not assess (recorded as ``error.type``)."""

from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class AssessmentError:
    """``error_code`` becomes ``error.type``, ``error_message`` ``feedback.error``."""

    error_code: str
    error_message: str | None = None
    stack_trace: str | None = None

    def to_dictionary(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_exception(cls, error: BaseException) -> AssessmentError:
        return cls(
            error_code=type(error).__name__,
            error_message=str(error),
            stack_trace="".join(traceback.format_exception(error)) or None,
        )


__all__ = ["AssessmentError"]
