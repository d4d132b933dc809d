"""What a client sent, checked field by field before anything is recorded.

:func:`parse_records` turns a request body into :class:`Submission` objects or raises
:class:`RequestError` carrying the HTTP status, a short error code, a sentence saying what is
wrong, and the field at fault (``name``, or ``[2].name`` inside a list). Client text is never
echoed raw: it is shown with :func:`repr`, so a name holding a line break cannot forge a log
line or a header.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from otel_feedback.token import MAX_TOKEN_CHARS
from otel_feedback.web.config import RequestLimits

FIELDS = frozenset({"token", "name", "value", "reason", "label", "kind", "id"})
"""The fields of one record (docs/DESIGN.md §10)."""
KINDS = frozenset({"explicit", "implicit"})
_NAME = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
_ID = re.compile(r"[0-9a-f]{32}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


class RequestError(Exception):
    """A request the endpoint refuses: HTTP ``status``, an error code, a reason, the field."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        field: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.field = field
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        """The JSON answer: ``{"status", "error", "detail"[, "field"]}``."""
        answer: dict[str, Any] = {"status": self.status, "error": self.error, "detail": self.detail}
        if self.field is not None:
            answer["field"] = self.field
        return answer


def invalid(field: str, detail: str) -> RequestError:
    """A 422 naming ``field``."""
    return RequestError(422, "invalid_field", f"{field}: {detail}", field)


@dataclass(frozen=True, slots=True)
class Submission:
    """One record as the client sent it, every field checked (the token is not verified yet)."""

    field_prefix: str
    token: str
    name: str
    value: Any
    reason: str | None
    label: str | None
    kind: str
    client_id: str | None


def parse_records(body: bytes, limits: RequestLimits) -> tuple[list[Submission], bool]:
    """The records in ``body`` and whether it held a list; raise :class:`RequestError`."""
    document = parse_json(body)
    if isinstance(document, dict):
        return [check_record(document, "", limits)], False
    if not isinstance(document, list):
        raise RequestError(
            422,
            "invalid_body",
            f"the body must be a JSON object (one record) or a list of them, "
            f"got {_json_type(document)}",
        )
    if not document:
        raise RequestError(422, "invalid_body", "the list of records is empty")
    if len(document) > limits.max_records:
        raise RequestError(
            413,
            "too_many_records",
            f"{len(document)} records in one request; at most {limits.max_records}",
        )
    records = []
    for index, item in enumerate(document):
        prefix = f"[{index}]."
        if not isinstance(item, dict):
            raise invalid(f"[{index}]", f"a record must be a JSON object, got {_json_type(item)}")
        records.append(check_record(item, prefix, limits))
    return records, True


def parse_json(body: bytes) -> Any:
    """The JSON document in ``body`` (UTF-8); raise a 400 :class:`RequestError` if it is not."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(400, "malformed_json", f"the body is not UTF-8: {error}") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise RequestError(400, "malformed_json", "the body is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, huge integers, NaN/Infinity
        raise RequestError(400, "malformed_json", f"the body is not valid JSON: {error}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_record(raw: dict[str, Any], prefix: str, limits: RequestLimits) -> Submission:
    """One record's fields, checked; raise a 422 :class:`RequestError` naming the bad field."""
    unknown = sorted(key for key in raw if key not in FIELDS)
    if unknown:
        shown = ", ".join(repr(key[:40]) for key in unknown[:5])
        raise invalid(
            prefix + _safe_field(unknown[0]),
            f"unknown field {shown}; a record has {', '.join(sorted(FIELDS))}",
        )
    return Submission(
        field_prefix=prefix,
        token=_token(raw.get("token"), prefix + "token"),
        name=_name(raw.get("name"), prefix + "name", limits.max_name_chars),
        value=_value(raw.get("value"), prefix + "value", limits.max_value_depth),
        reason=_text(raw.get("reason"), prefix + "reason", limits.max_reason_chars),
        label=_text(raw.get("label"), prefix + "label", limits.max_label_chars),
        kind=_kind(raw.get("kind"), prefix + "kind"),
        client_id=_client_id(raw.get("id"), prefix + "id"),
    )


def _token(token: Any, field: str) -> str:
    if not isinstance(token, str) or not token:
        got = _json_type(token)
        raise invalid(field, f"a feedback token (a non-empty string) is required, got {got}")
    if len(token) > MAX_TOKEN_CHARS:
        raise invalid(field, f"{len(token)} characters; tokens have at most {MAX_TOKEN_CHARS}")
    if not _TOKEN.fullmatch(token):
        raise invalid(field, "a feedback token holds only A-Z a-z 0-9 - _")
    return token


def _name(name: Any, field: str, max_chars: int) -> str:
    if not isinstance(name, str) or not name:
        raise invalid(field, f"a non-empty string is required, got {_json_type(name)}")
    if len(name) > max_chars:
        raise invalid(field, f"{len(name)} characters; at most {max_chars}")
    if not _NAME.fullmatch(name):
        raise invalid(
            field,
            f"{name[:40]!r} is not a feedback name: use letters, digits, '_' and '-', "
            "with '.' between parts",
        )
    return name


def _value(value: Any, field: str, max_depth: int) -> Any:
    if value is None:
        raise invalid(field, "a value is required (null has no OpenTelemetry form)")
    _check_value(value, field, max_depth)
    return value


def _check_value(value: Any, field: str, max_depth: int) -> None:
    """Walk the value once: depth, finite numbers, encodable strings, no empty keys."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _encodable(item, field)
        elif isinstance(item, float) and not math.isfinite(item):
            raise invalid(field, "numbers must be finite")
        elif isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise invalid(
                    field, f"nested more than {max_depth} objects or lists deep; flatten it"
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    if not key:
                        raise invalid(field, "an object key is empty")
                    _encodable(key, field)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _text(text: Any, field: str, max_chars: int) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise invalid(field, f"a string is expected, got {_json_type(text)}")
    if len(text) > max_chars:
        raise invalid(field, f"{len(text)} characters; at most {max_chars}")
    _encodable(text, field)
    return text or None


def _kind(kind: Any, field: str) -> str:
    if kind is None:
        return "explicit"
    if not isinstance(kind, str) or kind.lower() not in KINDS:
        raise invalid(field, "'explicit' or 'implicit' is expected")
    return kind.lower()


def _client_id(client_id: Any, field: str) -> str | None:
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not _ID.fullmatch(client_id) or not client_id.strip("0"):
        raise invalid(field, "32 lowercase hex characters (not all zero) are expected")
    return client_id


def _encodable(text: str, field: str) -> None:
    """Lone surrogates (``"\\ud800"``) parse in JSON but cannot be exported: refuse them."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise invalid(field, "a string holds a lone UTF-16 surrogate") from None


def _safe_field(key: str) -> str:
    """A client-chosen key, made safe to show as a field name."""
    return json.dumps(key[:40])[1:-1]  # control characters and non-ASCII escaped


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
