"""Trace and span ids as they travel outside OpenTelemetry: lowercase hex strings."""

from __future__ import annotations

from otel_feedback._coerce import shown
from otel_feedback.errors import InvalidTargetError

_HEX = frozenset("0123456789abcdef")


def _parse(value: object, digits: int, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 < value < 1 << (4 * digits):
            return value
        raise InvalidTargetError(
            f"{what} {shown(value)} is out of range; pass the non-zero {4 * digits}-bit id of a "
            f"real span (span.get_span_context().{what.replace(' ', '_')})"
        )
    if not isinstance(value, str):
        raise InvalidTargetError(
            f"{what} must be a {digits}-character hex string, got a {type(value).__name__}"
        )
    if len(value) != digits or not _HEX.issuperset(value):
        raise InvalidTargetError(
            f"{what} {shown(value)} is not {digits} lowercase hex characters "
            f"(format it with opentelemetry.trace.format_{what.replace(' ', '_')})"
        )
    number = int(value, 16)
    if number == 0:
        raise InvalidTargetError(
            f"{what} {shown(value)} is all zeros, which OpenTelemetry rejects as invalid; pass the "
            f"id of a real span (format_{what.replace(' ', '_')}(span.get_span_context()."
            f"{what.replace(' ', '_')}))"
        )
    return number


def parse_trace_id(value: object) -> int:
    """A trace id from 32 lowercase hex characters (or an int); raises ``InvalidTargetError``."""
    return _parse(value, 32, "trace id")


def parse_span_id(value: object) -> int:
    """A span id from 16 lowercase hex characters (or an int); raises ``InvalidTargetError``."""
    return _parse(value, 16, "span id")


def trace_id_hex(trace_id: int) -> str:
    """32 lowercase hex characters."""
    return f"{trace_id:032x}"


def span_id_hex(span_id: int) -> str:
    """16 lowercase hex characters."""
    return f"{span_id:016x}"
