"""One feedback, validated at the boundary and shaped as attributes (DESIGN.md §3).

:func:`build_feedback` checks the name, value, label, reason, kind and source, then returns
the state attributes (``feedback.<name>``) and the ``gen_ai.evaluation.result`` event
attributes. Bad input is reported (logged and counted, or raised in strict mode); the
feedback is repaired when that keeps its meaning, else dropped (``None``).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import SpanLimits

from otel_feedback._diagnostics import report
from otel_feedback.errors import InvalidFeedbackError
from otel_feedback.flatten import Attributes, flatten
from otel_feedback.token import now_ns

EVENT_NAME = "gen_ai.evaluation.result"
"""Span event (and log record ``event_name``) recording each feedback."""

SOURCE_TYPES = ("HUMAN", "LLM_JUDGE", "CODE")
"""Accepted ``feedback.source.type`` values (input is case-insensitive)."""

KINDS = ("explicit", "implicit")
"""Accepted ``feedback.kind`` values."""

MAX_NAME_LENGTH = 256
"""Longest feedback name accepted; longer names are truncated (strict mode: rejected)."""

MAX_TEXT_LENGTH = 65_536
"""Longest reason, label or source id kept; longer text is truncated and reported."""


@dataclass(frozen=True, slots=True)
class Feedback:
    """A validated feedback: its id, when it was given, and its attributes."""

    feedback_id: str
    name: str
    given_at_ns: int
    state: Attributes
    event: Attributes


def build_feedback(
    name: object,
    value: object,
    *,
    source: object = "HUMAN",
    source_id: object = None,
    reason: object = None,
    label: object = None,
    kind: object = "explicit",
    metadata: Mapping[str, Any] | None = None,
    timestamp: dt.datetime | int | None = None,
    strict: bool | None = None,
) -> Feedback | None:
    """Validate one feedback and shape its attributes; ``None`` when it must be dropped."""
    checked_name = _name(name, strict)
    if checked_name is None or not _value_ok(checked_name, value, strict):
        return None
    given_at_ns = _timestamp(timestamp, strict)
    feedback_id = new_feedback_id()
    event: Attributes = {"gen_ai.evaluation.name": checked_name}
    if isinstance(value, (bool, int, float)):
        score = _score(value)
        if score is not None:
            event["gen_ai.evaluation.score.value"] = score
    text_label = _text(label, "label", strict)
    if text_label is not None:
        event["gen_ai.evaluation.score.label"] = text_label
    elif isinstance(value, bool):
        event["gen_ai.evaluation.score.label"] = "true" if value else "false"
    elif isinstance(value, str):
        event["gen_ai.evaluation.score.label"] = value
    explanation = _text(reason, "reason", strict)
    if explanation is not None:
        event["gen_ai.evaluation.explanation"] = explanation
    event["feedback.id"] = feedback_id
    source_type = _source_type(source, strict)
    if source_type is not None:
        event["feedback.source.type"] = source_type
    source_text = _text(source_id, "source_id", strict)
    if source_text is not None:
        event["feedback.source.id"] = source_text
    event["feedback.kind"] = _kind(kind, strict)
    event["feedback.timestamp"] = iso_utc(given_at_ns)
    # Flattened once, so a problem in the value is reported (and counted) once.
    value_attributes = flatten({"value": value}, prefix="feedback", strict=strict)
    event.update(value_attributes)
    if metadata:
        event.update(flatten(metadata, prefix="feedback.metadata", strict=strict))
    state = _state(checked_name, value_attributes)
    return Feedback(feedback_id, checked_name, given_at_ns, state, _fit_event(event, strict))


def _score(value: bool | int | float) -> float | None:
    """The numeric score; ``None`` for an int too large for a float (its value is kept as a
    string in ``feedback.value``)."""
    try:
        return float(value)
    except OverflowError:
        return None


def _state(name: str, value_attributes: Attributes) -> Attributes:
    """``feedback.value[.<path>]`` keys renamed ``feedback.<name>[.<path>]`` (a dotted name is
    a path, as in :func:`flatten`)."""
    base = "feedback." + ".".join(part for part in name.split(".") if part)
    cut = len("feedback.value")
    return {base + key[cut:]: item for key, item in value_attributes.items()}


def _fit_event(event: Attributes, strict: bool | None) -> Attributes:
    """Keep the event under the SDK's event attribute limit, which evicts the *oldest* keys.

    The fixed fields come first; what is cut is the tail of a large nested value or metadata,
    whose value part is still whole in the span's ``feedback.<name>`` attributes.
    """
    limit = _event_attribute_limit()
    if limit is None or len(event) <= limit:
        return event
    kept = dict(list(event.items())[:limit])
    report(
        "event_budget",
        InvalidFeedbackError(
            f"feedback event has {len(event)} attributes, over the limit of {limit} "
            "(OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT); the last nested value/metadata keys are left "
            "out of the event (the span keeps the value)"
        ),
        strict,
    )
    return kept


@functools.cache
def _event_attribute_limit() -> int | None:
    return SpanLimits().max_event_attributes


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MICROSECOND = dt.timedelta(microseconds=1)


def iso_utc(time_ns: int) -> str:
    """ISO 8601 in UTC with microseconds, e.g. ``2026-11-23T13:14:15.123456Z``."""
    seconds, nanoseconds = divmod(time_ns, 1_000_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{nanoseconds // 1000:06d}Z"


def new_feedback_id() -> str:
    """A random UUID4 as 32 hex characters (``uuid.uuid4().hex``, without the UUID object)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()


def _invalid(problem: str, message: str, strict: bool | None) -> None:
    report(problem, InvalidFeedbackError(message), strict)


def _name(name: object, strict: bool | None) -> str | None:
    if not isinstance(name, str):
        _invalid("invalid_name", f"feedback name must be a str, got {type(name).__name__}", strict)
        return None
    stripped = name.strip().strip(".")
    if not stripped:
        _invalid("invalid_name", "feedback name is empty; give it a name like 'rating'", strict)
        return None
    if len(stripped) > MAX_NAME_LENGTH:
        _invalid(
            "invalid_name",
            f"feedback name is {len(stripped)} characters; the limit is {MAX_NAME_LENGTH} "
            "(truncated)",
            strict,
        )
        stripped = stripped[:MAX_NAME_LENGTH]
    return stripped


def _value_ok(name: str, value: object, strict: bool | None) -> bool:
    if value is None:
        _invalid("invalid_value", f"feedback {name!r} has no value (None); dropped", strict)
        return False
    if isinstance(value, float) and not math.isfinite(value):
        _invalid(
            "invalid_value",
            f"feedback {name!r} score is {value}; scores must be finite numbers (dropped)",
            strict,
        )
        return False
    # Anything else flatten can represent; it reports (or in strict mode raises) what it
    # can keep only as str().
    return True


def _text(value: object, what: str, strict: bool | None) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TEXT_LENGTH:
        _invalid(
            "truncated_text",
            f"feedback {what} is {len(text)} characters; kept the first {MAX_TEXT_LENGTH}",
            strict,
        )
        text = text[:MAX_TEXT_LENGTH]
    return text or None


def _source_type(source: object, strict: bool | None) -> str | None:
    if source is None:
        return None
    normalized = str(source).strip().upper().replace("-", "_").replace(" ", "_")
    if normalized in SOURCE_TYPES:
        return normalized
    _invalid(
        "invalid_source",
        f"feedback source type {source!r} is not one of {', '.join(SOURCE_TYPES)}; omitted",
        strict,
    )
    return None


def _kind(kind: object, strict: bool | None) -> str:
    normalized = str(kind).strip().lower()
    if normalized in KINDS:
        return normalized
    _invalid(
        "invalid_kind", f"feedback kind {kind!r} is not 'explicit' or 'implicit'; used explicit",
        strict,
    )
    return "explicit"


def _timestamp(timestamp: dt.datetime | int | None, strict: bool | None) -> int:
    if timestamp is None:
        return now_ns()
    if isinstance(timestamp, dt.datetime):
        moment = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=dt.timezone.utc)
        return (moment - _EPOCH) // _MICROSECOND * 1000  # exact, unlike float seconds
    if isinstance(timestamp, int) and not isinstance(timestamp, bool) and timestamp > 0:
        return timestamp
    _invalid(
        "invalid_timestamp",
        f"feedback timestamp {timestamp!r} is not a datetime or positive ns int; used now",
        strict,
    )
    return now_ns()
