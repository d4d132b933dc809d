"""otel-feedback: user feedback and evaluation scores on LLM traces, as OpenTelemetry data."""

from otel_feedback.api import (
    current_feedback_token,
    enrich_session,
    enrich_span,
    log_feedback,
)
from otel_feedback.batches import log_spans_feedback_scores, log_traces_feedback_scores
from otel_feedback.configure import configure, otlp_span_exporter
from otel_feedback.context import (
    current_session_id,
    current_user_id,
    identity_baggage,
    using_session,
    using_user,
)
from otel_feedback.conventions import ENV_STRICT as STRICT_ENV
from otel_feedback.conventions import (
    EVENT_NAME,
    FEEDBACK_SPAN_NAME,
    KINDS,
    NAMESPACES,
    SESSION_ID,
    SOURCE_TYPES,
    USER_ID,
)
from otel_feedback.conventions import VERSION as __version__
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
    OutboxError,
    OutboxFullError,
    UnsupportedValueError,
)
from otel_feedback.flatten import flatten, unflatten
from otel_feedback.limits import DEFAULT_LIMITS, FlattenLimits
from otel_feedback.outbox import FlushResult, Outbox, flush
from otel_feedback.processor import FeedbackSpanProcessor
from otel_feedback.reporting import diagnostics, reset_diagnostics
from otel_feedback.settings import Settings, get_settings, reload_settings
from otel_feedback.token import FeedbackToken, parse_feedback_token

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
    "FlushResult",
    "InvalidFeedbackError",
    "InvalidKeyError",
    "InvalidTargetError",
    "InvalidTokenError",
    "KeyConflictError",
    "NotConfiguredError",
    "Outbox",
    "OutboxError",
    "OutboxFullError",
    "Settings",
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
    "flush",
    "get_settings",
    "identity_baggage",
    "log_feedback",
    "log_spans_feedback_scores",
    "log_traces_feedback_scores",
    "otlp_span_exporter",
    "parse_feedback_token",
    "reload_settings",
    "reset_diagnostics",
    "unflatten",
    "using_session",
    "using_user",
]
