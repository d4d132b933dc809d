"""Typed errors raised in strict mode.

In the default (lenient) mode nothing here reaches user code: problems are logged on the
``otel_feedback`` logger and counted (see :func:`otel_feedback.diagnostics`).
"""

from __future__ import annotations


class FeedbackError(Exception):
    """Base class of every error otel-feedback raises in strict mode."""


class FlattenError(FeedbackError, ValueError):
    """A value could not be flattened into OpenTelemetry attributes as given."""


class CycleError(FlattenError):
    """A mapping or sequence contains itself."""


class InvalidKeyError(FlattenError):
    """A mapping key is empty (or becomes empty once converted to a path)."""


class KeyConflictError(FlattenError):
    """Two entries flatten to the same attribute key, or a key is both a leaf and a parent."""


class UnsupportedValueError(FlattenError, TypeError):
    """A value has no attribute representation and was converted with ``str()``."""


class InvalidFeedbackError(FeedbackError, ValueError):
    """A feedback name, value, label, kind or source is not acceptable."""


class InvalidTargetError(FeedbackError, ValueError):
    """The span the feedback is for cannot be identified (bad ids, no current span)."""


class InvalidTokenError(InvalidTargetError):
    """A feedback token is malformed, has a bad signature, or was not issued by us."""


class ExpiredTokenError(InvalidTokenError):
    """A feedback token is valid but older than the maximum age accepted where it is checked."""


class ConfigurationError(FeedbackError, ValueError):
    """A component was set up in a way that cannot work safely (an endpoint with no secret)."""


class NotConfiguredError(FeedbackError, RuntimeError):
    """No OpenTelemetry SDK ``TracerProvider`` is installed, so feedback cannot be exported."""


class BridgeError(FeedbackError, RuntimeError):
    """A bridge could not mirror a feedback record into a backend's native view."""


class OutboxError(FeedbackError, RuntimeError):
    """The durable outbox cannot be used (unwritable, corrupt, locked); records go direct."""


class OutboxFullError(OutboxError):
    """The durable outbox holds as many records or bytes as it may; the record was refused."""
