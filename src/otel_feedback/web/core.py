"""The endpoint itself, synchronous and framework-free: a request in, a :class:`Reply` out.

The ASGI app (:mod:`otel_feedback.web.asgi`) and the WSGI app (:mod:`otel_feedback.web.wsgi`)
only move bytes between their server and this class, so both answer every request the same
way. A request goes through :meth:`FeedbackEndpoint.check` before its body is read (origin,
content type, declared size, rate limit per client) and :meth:`FeedbackEndpoint.submit` after
(JSON, fields, tokens, rate limit per token, idempotency, then ``log_feedback``).

Status codes (docs/DESIGN.md §10): 202 recorded, with the ids; 400 malformed JSON; 401 token
unsigned, forged or signed with another secret; 403 origin not allowed; 410 token past its
maximum age; 413 body or record count too large; 415 content type; 422 a field invalid (named);
429 rate limit (``Retry-After``); 503 the server cannot record (no ``TracerProvider``). Nothing
a client sends yields a 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import otel_feedback as fb
from otel_feedback.conventions import WEB_SOURCE_ID
from otel_feedback.errors import (
    ExpiredTokenError,
    FeedbackError,
    InvalidTargetError,
    InvalidTokenError,
    NotConfiguredError,
)
from otel_feedback.reporting import count
from otel_feedback.token import FeedbackToken, parse_feedback_token
from otel_feedback.web import cors
from otel_feedback.web.client import script_etag, script_source
from otel_feedback.web.config import EndpointConfig
from otel_feedback.web.idempotency import IdempotencyMemory
from otel_feedback.web.ratelimit import RateLimits
from otel_feedback.web.validation import RequestError, Submission, invalid, parse_records

logger = logging.getLogger("otel_feedback.web")

CONTENT_TYPES = frozenset({"application/json", "text/plain"})
"""Accepted request content types; ``text/plain`` is what ``navigator.sendBeacon`` sends."""
DRAIN_BYTES = 4 * 1024 * 1024
"""A refused request's body up to this size is read to its end before the answer, so that a
client still sending it hears the refusal instead of a reset connection; past it, the answer
goes out at once."""
_JSON = "application/json"
_COMMON_HEADERS = [("cache-control", "no-store"), ("x-content-type-options", "nosniff")]


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer: status, headers (lowercase names) and body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class RequestHead:
    """What the endpoint needs from a request before reading its body."""

    method: str
    client: str
    content_type: str | None = None
    content_length: int | None = None
    origin: str | None = None
    host: str | None = None
    preflight_method: str | None = None
    preflight_headers: str | None = None
    if_none_match: str | None = None


def json_reply(status: int, body: dict[str, Any], extra: Sequence[tuple[str, str]] = ()) -> Reply:
    """A JSON reply (ASCII-only, so client text can never break out of it)."""
    data = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    headers = [("content-type", _JSON), ("content-length", str(len(data)))]
    return Reply(status, [*headers, *_COMMON_HEADERS, *extra], data)


@dataclass(slots=True)
class _Outcome:
    """What recording a request's records came to: their ids, in order."""

    ids: list[str | None] = field(default_factory=list)
    duplicates: int = 0
    not_sampled: int = 0


class FeedbackEndpoint:
    """``POST /feedback``, its CORS preflight, and ``GET /feedback.js``, for one config."""

    def __init__(self, config: EndpointConfig) -> None:
        self.config = config
        self.limits = config.limits
        self.rate_limits = RateLimits(
            config.rate_limit, config.token_rate_limit, config.rate_limit_storage
        )
        self.idempotency = IdempotencyMemory(config.idempotency_size)

    # -- before the body ----------------------------------------------------------------------

    def preflight(self, head: RequestHead) -> Reply:
        """Answer ``OPTIONS /feedback``: 204 for an allowed origin, else 403."""
        refusal = cors.preflight_refusal(
            head.origin,
            head.host,
            head.preflight_method,
            head.preflight_headers,
            self.config.cors_origins,
        )
        if refusal is not None:
            return self._refuse(RequestError(403, "origin_not_allowed", refusal), head)
        return Reply(204, [*cors.preflight_headers(head.origin), *_COMMON_HEADERS], b"")

    def check(self, head: RequestHead) -> Reply | None:
        """Refuse a ``POST`` early from its headers alone (``None``: read the body)."""
        if not cors.origin_allowed(head.origin, head.host, self.config.cors_origins):
            detail = f"origin {(head.origin or '')[:100]!r} is not allowed to post feedback"
            return self._refuse(RequestError(403, "origin_not_allowed", detail), head)
        media_type = (head.content_type or "").split(";", 1)[0].strip().lower()
        if media_type not in CONTENT_TYPES:
            shown = repr(media_type[:60]) if media_type else "none"
            detail = f"content type {shown} is not accepted; send application/json or text/plain"
            return self._refuse(RequestError(415, "unsupported_media_type", detail), head)
        limit = self.limits.max_body_bytes
        if head.content_length is not None and head.content_length > limit:
            return self._refuse(self.too_large(head.content_length), head)
        wait = self.rate_limits.allow_client(head.client)
        if wait is not None:
            return self._rate_limited(wait, "this client address", head)
        return None

    @staticmethod
    def drain_allowed(head: RequestHead) -> bool:
        """Whether a refused request's body should be read to its end (see DRAIN_BYTES)."""
        return head.content_length is None or head.content_length <= DRAIN_BYTES

    def too_large(self, size: int | None = None) -> RequestError:
        """The 413 for a body over the limit (``size`` when known)."""
        said = f"{size} bytes" if size is not None else "more"
        return RequestError(
            413, "body_too_large", f"the body holds {said}; at most {self.limits.max_body_bytes}"
        )

    def refuse(self, error: RequestError, head: RequestHead) -> Reply:
        """The reply for ``error`` (logged at debug level and counted)."""
        return self._refuse(error, head)

    # -- the body -------------------------------------------------------------------------------

    def submit(self, head: RequestHead, body: bytes) -> Reply:
        """Record the feedback in ``body``: 202 with the ids, or the refusal."""
        try:
            records, many = parse_records(body, self.limits)
            verified = [(record, self._verify(record)) for record in records]
            self._limit_tokens(verified, head)
            outcome = self._record(verified)
        except RequestError as error:
            return self._refuse(error, head)
        ids = outcome.ids
        answer: dict[str, Any] = {
            "status": 202,
            "accepted": len(ids) - outcome.duplicates - outcome.not_sampled,
            "duplicates": outcome.duplicates,
            "not_sampled": outcome.not_sampled,
            "ids": ids,
        }
        if not many:
            answer["id"] = ids[0]
        return json_reply(202, answer, cors.response_headers(head.origin, self.config.cors_origins))

    def _verify(self, record: Submission) -> FeedbackToken:
        where = record.field_prefix + "token"
        signed = bool(self.config.secrets)
        try:
            return parse_feedback_token(
                record.token,
                secret=self.config.secrets,
                max_age=self.config.max_age_seconds,
                require_signature=not self.config.allow_unsigned,
            )
        except ExpiredTokenError as error:
            raise RequestError(410, "token_expired", f"{where}: {error}", where) from None
        except InvalidTokenError as error:
            if signed:
                raise RequestError(401, "invalid_token", f"{where}: {error}", where) from None
            raise invalid(where, str(error)) from None

    def _limit_tokens(
        self, verified: list[tuple[Submission, FeedbackToken]], head: RequestHead
    ) -> None:
        spans: dict[str, int] = {}
        for _, token in verified:
            key = f"{token.trace_id:032x}{token.span_id:016x}"
            spans[key] = spans.get(key, 0) + 1
        for key, records in spans.items():
            wait = self.rate_limits.allow_token(key, records)
            if wait is not None:
                raise RequestError(
                    429,
                    "rate_limited",
                    f"too many records about one answer; retry in {wait:.0f} s",
                    retry_after=wait,
                )

    def _record(self, verified: list[tuple[Submission, FeedbackToken]]) -> _Outcome:
        outcome = _Outcome()
        ids = outcome.ids
        for record, token in verified:
            client_id = record.client_id
            if not token.sampled:
                # The application chose not to record that trace: acknowledged, not recorded.
                count("web_not_sampled")
                ids.append(client_id)
                outcome.not_sampled += 1
                continue
            if client_id is not None:
                new, known = self.idempotency.claim(client_id)
                if not new:
                    ids.append(known or client_id)
                    outcome.duplicates += 1
                    continue
            feedback_id = self._log(record, token)
            if client_id is not None:
                self.idempotency.settle(client_id, feedback_id)
            if feedback_id is None:
                raise RequestError(
                    503,
                    "not_recorded",
                    "the feedback could not be recorded (see the server log); retry later",
                )
            ids.append(feedback_id)
        return outcome

    def _log(self, record: Submission, token: FeedbackToken) -> str | None:
        try:
            return fb.log_feedback(
                record.name,
                record.value,
                target=token,
                reason=record.reason,
                label=record.label,
                kind=record.kind,
                source="HUMAN",
                source_id=WEB_SOURCE_ID,
                tracer_provider=self.config.tracer_provider,
                feedback_id=record.client_id,
                strict=True,
            )
        except NotConfiguredError as error:
            self._release(record)
            logger.error("feedback endpoint cannot record: %s", error)
            raise RequestError(
                503, "not_configured", "the server cannot record feedback now"
            ) from None
        except InvalidTargetError as error:
            self._release(record)
            raise invalid(record.field_prefix + "token", str(error)) from None
        except FeedbackError as error:
            self._release(record)
            raise invalid(record.field_prefix + _field_of(error), str(error)) from None
        except Exception:  # instrumentation must not turn a server problem into a crash
            self._release(record)
            logger.exception("feedback endpoint failed to record a feedback")
            count("web_internal_error")
            return None

    def _release(self, record: Submission) -> None:
        if record.client_id is not None:
            self.idempotency.settle(record.client_id, None)

    # -- the browser client ---------------------------------------------------------------------

    def script(self, head: RequestHead) -> Reply:
        """``GET /feedback.js`` (304 when the browser's copy is current)."""
        etag = script_etag()
        headers = [
            ("etag", etag),
            ("cache-control", "public, max-age=3600"),
            ("x-content-type-options", "nosniff"),
        ]
        if head.if_none_match is not None and etag in head.if_none_match:
            return Reply(304, headers, b"")
        source = script_source()
        headers += [
            ("content-type", "text/javascript; charset=utf-8"),
            ("content-length", str(len(source))),
        ]
        return Reply(200, headers, b"" if head.method == "HEAD" else source)

    # -- refusals -------------------------------------------------------------------------------

    def _rate_limited(self, wait: float, whom: str, head: RequestHead) -> Reply:
        error = RequestError(
            429,
            "rate_limited",
            f"too many requests from {whom}; retry in {wait:.0f} s",
            retry_after=wait,
        )
        return self._refuse(error, head)

    def _refuse(self, error: RequestError, head: RequestHead) -> Reply:
        headers = []
        if error.retry_after is not None:
            headers.append(("retry-after", f"{error.retry_after:.0f}"))
        count(f"web_refused_{error.status}")
        logger.debug("feedback endpoint refused a request with %d: %s", error.status, error.detail)
        headers += cors.response_headers(head.origin, self.config.cors_origins)
        return json_reply(error.status, error.body(), headers)


def _field_of(error: FeedbackError) -> str:
    """Which field a core validation error is about (the value unless it says otherwise)."""
    text = str(error).lower()
    for name in ("name", "reason", "label", "kind"):
        if text.startswith((name, f"feedback {name}")):
            return name
    return "value"
