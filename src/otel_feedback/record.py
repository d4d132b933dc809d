"""One feedback, validated at the boundary and shaped as attributes (docs/DESIGN.md §3, §12).

:func:`build_feedback` checks the name, value, label, reason, kind, source, timestamp, id and
metadata, then returns a :class:`Feedback`: the state attributes (``feedback.<name>``), the
``gen_ai.evaluation.result`` event attributes, and the OpenInference annotation fields.
Bad values are reported (logged and counted, or raised in strict mode, see
:mod:`otel_feedback.reporting`); the feedback is repaired when that keeps its meaning, else
dropped (``None``). It touches no span: :mod:`otel_feedback.delivery` decides where it goes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from otel_feedback import conventions as names
from otel_feedback._coerce import clean_text, clip_utf8, encodable, shown
from otel_feedback._sdk import event_attribute_limit
from otel_feedback.errors import InvalidFeedbackError
from otel_feedback.flatten import Attributes, flatten, flatten_measured, unflatten
from otel_feedback.reporting import report
from otel_feedback.settings import get_settings

MAX_NAME_LENGTH = 256
"""Longest feedback name accepted; longer names are truncated (strict mode: rejected)."""

MAX_TEXT_LENGTH = 65_536
"""Longest reason, label, source id or error message kept, in characters; longer text is
truncated (and to ``OTEL_FEEDBACK_MAX_VALUE_BYTES`` UTF-8 bytes, 65,536 by default)."""

MAX_TIMESTAMP_NS = 2**63 - 1
"""Latest time a feedback may carry (2262): OTLP timestamps are unsigned 64-bit nanoseconds."""

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Feedback:
    """A validated feedback: its id, when it was given, and its attributes."""

    feedback_id: str
    name: str
    given_at_ns: int
    state: Attributes
    """``feedback.<name>[.<path>]``: what the feedback now is, for the rated span."""
    event: Attributes
    """The ``gen_ai.evaluation.result`` event's attributes: the record of who, when, why."""
    annotation: Attributes
    """OpenInference annotation fields (``name``, ``score``, ...), without their index."""

    @property
    def summary(self) -> Attributes:
        """The record's searchable fields for a late ``feedback`` span's own attributes."""
        return {key: self.event[key] for key in names.LATE_SPAN_RECORD_KEYS if key in self.event}


def build_feedback(
    name: object,
    value: object,
    *,
    source: object = "HUMAN",
    source_id: object = None,
    reason: object = None,
    label: object = None,
    kind: object = "explicit",
    metadata: object = None,
    timestamp: object = None,
    error: object = None,
    feedback_id: object = None,
) -> Feedback | None:
    """Validate one feedback and shape its attributes; ``None`` when it must be dropped."""
    checked_name = _name(name)
    if checked_name is None:
        return None
    error_type, error_message = _error(error)
    if error_type is None and not _value_ok(checked_name, value):
        return None
    given_at_ns = _timestamp(timestamp)
    record_id = _feedback_id(feedback_id)
    event: Attributes = {names.EVALUATION_NAME: checked_name}
    score = _score(value)
    if score is not None:
        event[names.SCORE_VALUE] = score
    text_label = _text(label, "label")
    if text_label is not None:
        event[names.SCORE_LABEL] = text_label
    elif isinstance(value, bool):
        event[names.SCORE_LABEL] = "true" if value else "false"
    elif isinstance(value, str) and value:
        # The value itself is kept (and any repair reported) in feedback.value.
        event[names.SCORE_LABEL] = _label_of(value)
    explanation = _text(reason, "reason")
    if explanation is not None:
        event[names.EXPLANATION] = explanation
    event[names.FEEDBACK_ID] = record_id
    source_type = _source_type(source)
    if source_type is not None:
        event[names.SOURCE_TYPE] = source_type
    source_text = _text(source_id, "source_id")
    if source_text is not None:
        event[names.SOURCE_ID] = source_text
    event[names.KIND] = _kind(kind)
    event[names.TIMESTAMP] = iso_utc(given_at_ns)
    if error_type is not None:
        event[names.ERROR_TYPE] = error_type
        if error_message:
            event[names.FEEDBACK_ERROR] = error_message
    # Flattened once, so a problem in the value is reported (and counted) once. The value
    # and metadata share what the record's text fields leave of the record limits.
    used = attributes_size(event)
    value_attributes = fit_record(
        flatten({"value": value}, prefix=names.FEEDBACK) if value is not None else {}, used
    )
    event.update(value_attributes)
    metadata_mapping = _metadata(metadata)
    metadata_attributes: Attributes = {}
    if metadata_mapping:
        metadata_attributes = fit_record(
            flatten(metadata_mapping, prefix=names.METADATA_PREFIX),
            used + attributes_size(value_attributes),
            len(value_attributes),
        )
        event.update(metadata_attributes)
    annotation = _annotation(event, metadata_attributes)
    state = _state(checked_name, value_attributes)
    return Feedback(record_id, checked_name, given_at_ns, state, _fit_event(event), annotation)


def _score(value: object) -> float | None:
    """The numeric score of a bool, number or numeric string; ``None`` when there is none
    (an int too large for a float keeps its exact value in ``feedback.value``)."""
    if isinstance(value, (bool, int, float)):
        try:
            score = float(value)
        except OverflowError:
            return None
    elif isinstance(value, str) and 0 < len(value) <= 64:
        try:
            score = float(str.__str__(value).strip())
        except ValueError:
            return None
    else:
        return None
    return score if math.isfinite(score) else None


def _state(name: str, value_attributes: Attributes) -> Attributes:
    """``feedback.value[.<path>]`` keys renamed ``feedback.<name>[.<path>]`` (a dotted name is
    a path, as in :func:`flatten`)."""
    base = f"{names.FEEDBACK}." + ".".join(part for part in name.split(".") if part)
    cut = len(names.FEEDBACK_VALUE)
    return {base + key[cut:]: item for key, item in value_attributes.items()}


def _annotation(event: Attributes, metadata: Attributes) -> Attributes:
    """The record as one OpenInference annotation (spec/annotations.md), without its index."""
    fields: Attributes = {"name": event[names.EVALUATION_NAME]}
    if names.SCORE_VALUE in event:
        fields["score"] = event[names.SCORE_VALUE]
    if names.SCORE_LABEL in event:
        fields["label"] = event[names.SCORE_LABEL]
    if names.EXPLANATION in event:
        fields["explanation"] = event[names.EXPLANATION]
    source_type = event.get(names.SOURCE_TYPE)
    if isinstance(source_type, str):
        fields["annotator_kind"] = names.ANNOTATOR_KINDS[source_type]
    fields["identifier"] = event[names.FEEDBACK_ID]
    if metadata:
        # Built from the flattened metadata, whose keys and values are clean already.
        text = json.dumps(
            unflatten(metadata, names.METADATA_PREFIX), sort_keys=True, ensure_ascii=False
        )
        fields["metadata"] = clip_utf8(text, get_settings().max_value_bytes)
    return fields


def attributes_size(attributes: Attributes) -> int:
    """Bytes of ``attributes`` as counted against ``OTEL_FEEDBACK_MAX_RECORD_BYTES``: UTF-8
    keys and text, 8 per number or bool."""
    total = 0
    for key, value in attributes.items():
        total += len(key) if key.isascii() else len(key.encode("utf-8", "surrogatepass"))
        if isinstance(value, str):
            total += len(value) if value.isascii() else _item_size(value)
        elif isinstance(value, tuple):
            total += sum(_item_size(item) for item in value)
        else:
            total += 8
    return total


def _item_size(item: object) -> int:
    return len(item.encode("utf-8", "surrogatepass")) if type(item) is str else 8


def fit_record(
    attributes: Attributes, used_bytes: int = 0, used_keys: int = 0, bound: int | None = None
) -> Attributes:
    """``attributes`` within one call's limits (``OTEL_FEEDBACK_MAX_KEYS`` and
    ``OTEL_FEEDBACK_MAX_RECORD_BYTES``, less what the call already used); the attributes
    from the first that does not fit on are refused, logged and counted. ``bound`` is an
    upper bound of their size (see :func:`~otel_feedback.flatten.flatten_measured`): when it
    fits, nothing is measured."""
    settings = get_settings()
    max_keys = settings.max_keys - used_keys
    budget = settings.max_record_bytes - used_bytes
    if len(attributes) <= max_keys and (
        (bound is not None and bound <= budget) or attributes_size(attributes) <= budget
    ):
        return attributes
    kept: Attributes = {}
    total = 0
    for key, value in attributes.items():
        size = attributes_size({key: value})
        if len(kept) >= max_keys or total + size > budget:
            break
        kept[key] = value
        total += size
    refused = len(attributes) - len(kept)
    report(
        "record_too_large",
        InvalidFeedbackError(
            f"one call gave {len(attributes) + used_keys} attributes of "
            f"{attributes_size(attributes) + used_bytes} bytes, over the limits of "
            f"{settings.max_keys} attributes (OTEL_FEEDBACK_MAX_KEYS) and "
            f"{settings.max_record_bytes} bytes (OTEL_FEEDBACK_MAX_RECORD_BYTES); kept the "
            f"first {len(kept)}, refused {refused}"
        ),
    )
    return kept


def _fit_event(event: Attributes) -> Attributes:
    """Keep the event under the SDK's event attribute limit, which evicts the *oldest* keys.

    The fixed fields come first; what is cut is the tail of a large nested value or metadata,
    whose value part is still whole in the span's ``feedback.<name>`` attributes.
    """
    limit = event_attribute_limit()
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
    )
    return kept


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MICROSECOND = dt.timedelta(microseconds=1)


def now_ns() -> int:
    """Wall-clock time in nanoseconds (the clock spans use)."""
    return time.time_ns()


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


def _invalid(problem: str, message: str) -> None:
    report(problem, InvalidFeedbackError(message))


def _safe_str(value: object) -> str | None:
    """``str(value)`` as a plain ``str``, or ``None`` when that raises (user ``__str__``
    code, an int past Python's digit limit)."""
    try:
        return str.__str__(str(value))
    except Exception:  # noqa: BLE001 - a broken __str__ must not drop the whole record
        return None


def _shown(value: object) -> str:
    """``value`` for a log message, never raising, cut when long."""
    text = _safe_str(value)
    if text is None:
        return f"<a {type(value).__name__} without str()>"
    return repr(text) if len(text) <= 120 else repr(text[:120]) + "…"


def _name(name: object) -> str | None:
    if not isinstance(name, str):
        _invalid("invalid_name", f"feedback name must be a str, got {type(name).__name__}")
        return None
    stripped = _repaired(str.__str__(name), "name").strip().strip(".")
    if not stripped:
        _invalid("invalid_name", "feedback name is empty; give it a name like 'rating'")
        return None
    if len(stripped) > MAX_NAME_LENGTH:
        _invalid(
            "invalid_name",
            f"feedback name is {len(stripped)} characters; the limit is {MAX_NAME_LENGTH} "
            "(truncated)",
        )
        stripped = stripped[:MAX_NAME_LENGTH]
    return stripped


def _value_ok(name: str, value: object) -> bool:
    if value is None:
        _invalid(
            "invalid_value",
            f"feedback {name!r} has no value (None); dropped (pass error= for a failed "
            "evaluation)",
        )
        return False
    if isinstance(value, float) and not math.isfinite(value):
        _invalid(
            "invalid_value",
            f"feedback {name!r} score is {value}; scores must be finite numbers (dropped)",
        )
        return False
    # Anything else flatten can represent; it reports (or in strict mode raises) what it
    # can keep only as str().
    return True


def _repaired(text: str, what: str) -> str:
    """``text`` with any lone surrogate (no UTF-8 form) replaced by U+FFFD, reported."""
    fixed, repaired = encodable(text)
    if repaired:
        _invalid(
            "unencodable_text",
            f"feedback {what} held lone surrogates (text with no UTF-8 form); replaced them "
            "with U+FFFD",
        )
    return fixed


def _label_of(value: str) -> str:
    """The label a ``str`` value gives, within the text limits (not reported: the value is)."""
    text = encodable(str.__str__(value)[:MAX_TEXT_LENGTH])[0]
    return clip_utf8(text, get_settings().max_value_bytes)


def _text(value: object, what: str) -> str | None:
    if value is None:
        return None
    text = str.__str__(value) if isinstance(value, str) else _safe_str(value)
    if text is None:
        _invalid("invalid_value", f"feedback {what} could not be converted to text; omitted")
        return None
    size = len(text)
    if size > MAX_TEXT_LENGTH:
        text = text[:MAX_TEXT_LENGTH]
    max_bytes = get_settings().max_value_bytes
    text, repaired, truncated = clean_text(text, max_bytes)
    if repaired:
        _invalid(
            "unencodable_text",
            f"feedback {what} held lone surrogates (text with no UTF-8 form); replaced them "
            "with U+FFFD",
        )
    if size > MAX_TEXT_LENGTH or truncated:
        _invalid(
            "truncated_text",
            f"feedback {what} is {size} characters; kept the first {len(text)} (limits: "
            f"{MAX_TEXT_LENGTH} characters, {max_bytes} bytes)",
        )
    return text or None


def _source_type(source: object) -> str | None:
    if source is None:
        return None
    text = _safe_str(_enum_value(source))
    normalized = (text or "").strip().upper().replace("-", "_").replace(" ", "_")
    normalized = names.SOURCE_TYPE_ALIASES.get(normalized, normalized)
    if normalized in names.SOURCE_TYPES:
        return normalized
    _invalid(
        "invalid_source",
        f"feedback source type {_shown(text)} is not one of "
        f"{', '.join(names.SOURCE_TYPES)}; omitted",
    )
    return None


def _enum_value(value: object) -> object:
    """An Enum member's value, else ``value``."""
    return value.value if isinstance(value, Enum) else value


def _kind(kind: object) -> str:
    text = _safe_str(_enum_value(kind))
    normalized = (text or "").strip().lower()
    if normalized in names.KINDS:
        return normalized
    _invalid(
        "invalid_kind",
        f"feedback kind {_shown(text)} is not 'explicit' or 'implicit'; used explicit",
    )
    return "explicit"


def _metadata(metadata: object) -> Mapping[str, Any] | None:
    if metadata is None or isinstance(metadata, Mapping):
        return metadata
    _invalid(
        "invalid_value",
        f"feedback metadata= must be a mapping such as {{'model': 'gpt-4o'}}, got "
        f"{type(metadata).__name__}; ignored",
    )
    return None


def _feedback_id(feedback_id: object) -> str:
    if feedback_id is None:
        return new_feedback_id()
    if isinstance(feedback_id, str):
        candidate = feedback_id.replace("-", "").lower()
        if len(candidate) == 32 and _HEX.issuperset(candidate) and candidate.strip("0"):
            return candidate
    _invalid(
        "invalid_id",
        f"feedback_id {shown(feedback_id)} is not 32 hex characters (a UUID); a new id was used",
    )
    return new_feedback_id()


def _error(error: object) -> tuple[str | None, str | None]:
    """``(error.type, message)`` of a failed evaluation: an exception, a message, or an
    object with ``error_code`` / ``error_message`` (MLflow's ``AssessmentError``)."""
    if error is None:
        return None, None
    if isinstance(error, BaseException):
        return type(error).__name__, _text(_safe_str(error), "error")
    code = _attribute(error, "error_code")
    if code is not None:
        message = _attribute(error, "error_message")
        return (
            _text(code, "error code") or "_OTHER",
            _text(message, "error") if message is not None else None,
        )
    return "_OTHER", _text(error, "error")


def _attribute(value: object, name: str) -> object:
    """``getattr(value, name, None)``, also when the attribute's code raises."""
    try:
        return getattr(value, name, None)
    except Exception:  # noqa: BLE001 - a property of a user object
        return None


def _timestamp(timestamp: object) -> int:
    if timestamp is None:
        return now_ns()
    if isinstance(timestamp, str):
        parsed = _parse_iso(timestamp)
        if parsed is not None:
            timestamp = parsed
    nanoseconds: int | None = None
    if isinstance(timestamp, dt.datetime):
        try:
            moment = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=dt.timezone.utc)
            nanoseconds = (moment - _EPOCH) // _MICROSECOND * 1000  # exact, unlike float seconds
        except Exception:  # noqa: BLE001 - a tzinfo whose utcoffset() raises or is absurd
            nanoseconds = None
    elif isinstance(timestamp, int) and not isinstance(timestamp, bool):
        nanoseconds = int(timestamp)
    if nanoseconds is not None and 0 < nanoseconds <= MAX_TIMESTAMP_NS:
        return nanoseconds
    _invalid(
        "invalid_timestamp",
        f"feedback timestamp {_shown(timestamp)} is not a datetime, an ISO 8601 string or a "
        "positive int of nanoseconds, between 1970 and 2262; used now",
    )
    return now_ns()


def _parse_iso(text: str) -> dt.datetime | None:
    """An ISO 8601 date-time (``Z`` or an offset; naive means UTC), else ``None``."""
    candidate = str.__str__(text).strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        return dt.datetime.fromisoformat(candidate)
    except ValueError:
        return None


def shape_namespaces(
    feedback: object, metrics: object, metadata: object, user_properties: object
) -> Attributes:
    """``enrich_span``'s four namespaces flattened into one set of attributes."""
    if metrics is None and metadata is None and user_properties is None and (
        type(feedback) is dict
    ):
        # The usual call, directly; measured only when the quick bound does not fit.
        flat, bound = flatten_measured(feedback, names.FEEDBACK)
        settings = get_settings()
        if bound <= settings.max_record_bytes and len(flat) <= settings.max_keys:
            return flat
        return fit_record(flat)
    attributes: Attributes = {}
    bound = 0
    values = zip(names.NAMESPACES, (feedback, metrics, metadata, user_properties), strict=True)
    for namespace, value in values:
        if value is None:
            continue
        if not isinstance(value, Mapping):
            _invalid(
                "invalid_value",
                f"{namespace}= must be a mapping such as {{'rating': 5}}, "
                f"got {type(value).__name__}; ignored",
            )
            continue
        flat, size = flatten_measured(value, namespace)
        attributes.update(flat)
        bound += size
    return fit_record(attributes, bound=bound)
