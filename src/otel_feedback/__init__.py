"""otel-feedback: user feedback and evaluation scores on LLM traces, as OpenTelemetry data."""

from otel_feedback._diagnostics import STRICT_ENV, diagnostics, reset_diagnostics
from otel_feedback._emit import FEEDBACK_SPAN_NAME
from otel_feedback.api import (
    NAMESPACES,
    current_feedback_token,
    enrich_session,
    enrich_span,
    log_feedback,
    log_spans_feedback_scores,
    log_traces_feedback_scores,
)
from otel_feedback.configure import configure, otlp_span_exporter
from otel_feedback.context import (
    SESSION_ID,
    USER_ID,
    current_session_id,
    current_user_id,
    using_session,
    using_user,
)
from otel_feedback.errors import (
    ConfigurationError,
    CycleError,
    ExpiredTokenError,
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
from otel_feedback.processor import FeedbackSpanProcessor
from otel_feedback.record import EVENT_NAME, KINDS, SOURCE_TYPES
from otel_feedback.token import FeedbackToken, parse_feedback_token

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LIMITS",
    "EVENT_NAME",
    "FEEDBACK_SPAN_NAME",
    "KINDS",
    "NAMESPACES",
    "SESSION_ID",
    "SOURCE_TYPES",
    "STRICT_ENV",
    "USER_ID",
    "ConfigurationError",
    "CycleError",
    "ExpiredTokenError",
    "FeedbackError",
    "FeedbackSpanProcessor",
    "FeedbackToken",
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
    "configure",
    "current_feedback_token",
    "current_session_id",
    "current_user_id",
    "diagnostics",
    "enrich_session",
    "enrich_span",
    "flatten",
    "log_feedback",
    "log_spans_feedback_scores",
    "log_traces_feedback_scores",
    "otlp_span_exporter",
    "parse_feedback_token",
    "reset_diagnostics",
    "unflatten",
    "using_session",
    "using_user",
]
