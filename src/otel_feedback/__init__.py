"""otel-feedback: user feedback and evaluation scores on LLM traces, as OpenTelemetry data."""

from otel_feedback._diagnostics import diagnostics, reset_diagnostics
from otel_feedback.errors import (
    CycleError,
    FeedbackError,
    FlattenError,
    InvalidFeedbackError,
    InvalidKeyError,
    InvalidTargetError,
    InvalidTokenError,
    KeyConflictError,
    NotConfiguredError,
    UnsupportedValueError,
)
from otel_feedback.flatten import flatten, unflatten
from otel_feedback.limits import DEFAULT_LIMITS, FlattenLimits

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LIMITS",
    "CycleError",
    "FeedbackError",
    "FlattenError",
    "FlattenLimits",
    "InvalidFeedbackError",
    "InvalidKeyError",
    "InvalidTargetError",
    "InvalidTokenError",
    "KeyConflictError",
    "NotConfiguredError",
    "UnsupportedValueError",
    "__version__",
    "diagnostics",
    "flatten",
    "reset_diagnostics",
    "unflatten",
]
