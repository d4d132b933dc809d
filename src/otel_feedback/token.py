"""Feedback tokens: a compact, URL-safe reference to a span, handed to a frontend.

A token carries the trace id, the span id, the local root span id when known, the moment it
was issued (so late feedback is placed inside the span's lifetime), the sampled flag, and the
session and user ids. With ``OTEL_FEEDBACK_TOKEN_SECRET`` set, tokens are signed
(HMAC-SHA256) and a process holding the secret rejects unsigned or altered tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import time
from dataclasses import dataclass

from otel_feedback._diagnostics import count, logger
from otel_feedback.errors import InvalidTokenError
from otel_feedback.ids import span_id_hex, trace_id_hex

SECRET_ENV = "OTEL_FEEDBACK_TOKEN_SECRET"
_VERSION = 1
_SAMPLED, _HAS_ROOT, _HAS_SESSION, _HAS_USER, _SIGNED = 1, 2, 4, 8, 16
_HEAD = struct.Struct(">BB16s8s")
_U64 = struct.Struct(">Q")
_LEN = struct.Struct(">H")
_SIGNATURE_BYTES = 16
_MAX_IDENTITY_BYTES = 1024
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class FeedbackToken:
    """What a feedback token says about the span it refers to."""

    trace_id: int
    span_id: int
    issued_at_ns: int
    root_span_id: int | None = None
    sampled: bool = True
    session_id: str | None = None
    user_id: str | None = None

    @property
    def trace_id_hex(self) -> str:
        """The trace id as 32 lowercase hex characters."""
        return trace_id_hex(self.trace_id)

    @property
    def span_id_hex(self) -> str:
        """The span id as 16 lowercase hex characters."""
        return span_id_hex(self.span_id)

    def encode(self, secret: str | bytes | None = None) -> str:
        """The token as a URL-safe string; signed when a secret is given or configured."""
        flags = _SAMPLED if self.sampled else 0
        body = bytearray()
        if self.root_span_id:
            flags |= _HAS_ROOT
            body += self.root_span_id.to_bytes(8, "big")
        body += _U64.pack(max(0, self.issued_at_ns))
        for flag, text in ((_HAS_SESSION, self.session_id), (_HAS_USER, self.user_id)):
            raw = text.encode("utf-8") if text else b""
            if len(raw) > _MAX_IDENTITY_BYTES:
                count("token_identity_omitted")
                logger.warning(
                    "a session or user id of %d bytes is too long for a feedback token (max %d); "
                    "left out, so late feedback carries the ids of the context it is sent from",
                    len(raw),
                    _MAX_IDENTITY_BYTES,
                )
            elif raw:
                flags |= flag
                body += _LEN.pack(len(raw)) + raw
        key = _secret(secret)
        if key is not None:
            flags |= _SIGNED
        message = (
            _HEAD.pack(
                _VERSION, flags, self.trace_id.to_bytes(16, "big"), self.span_id.to_bytes(8, "big")
            )
            + body
        )
        if key is not None:
            message += _sign(key, message)
        return base64.urlsafe_b64encode(message).rstrip(b"=").decode("ascii")


def _secret(secret: str | bytes | None) -> bytes | None:
    if secret is None:
        secret = os.environ.get(SECRET_ENV) or None
    if secret is None:
        return None
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _sign(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


_FIX = "; pass the token exactly as current_feedback_token() returned it"
_FIX_SECRET = (
    f"; give this process the same {SECRET_ENV} (or secret=) as the process that issued it"
)


def parse_feedback_token(token: str, *, secret: str | bytes | None = None) -> FeedbackToken:
    """Decode a token from :func:`current_feedback_token`.

    Raises :class:`~otel_feedback.InvalidTokenError` saying what is wrong and how to fix it.
    When a secret is given or configured, the token must carry a valid signature.
    """
    try:
        return _parse(token, secret)
    except InvalidTokenError as error:
        text = str(error)
        fix = _FIX_SECRET if "signed" in text or "signature" in text else _FIX
        raise InvalidTokenError(text + fix) from None


def _parse(token: str, secret: str | bytes | None) -> FeedbackToken:
    if not isinstance(token, str) or not token:
        got = "an empty string" if isinstance(token, str) else f"a {type(token).__name__}"
        raise InvalidTokenError(f"a feedback token must be a non-empty string, got {got}")
    if len(token) > 2048:
        raise InvalidTokenError(f"feedback token is {len(token)} characters; tokens are < 2048")
    if not _ALPHABET.fullmatch(token):
        # urlsafe_b64decode would silently skip such characters.
        raise InvalidTokenError("feedback token is not URL-safe base64: it has other characters")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidTokenError(f"feedback token is not URL-safe base64: {exc}") from None
    if len(raw) < _HEAD.size + _U64.size:
        raise InvalidTokenError("feedback token is truncated")
    version, flags, trace_raw, span_raw = _HEAD.unpack_from(raw)
    if version != _VERSION:
        raise InvalidTokenError(f"feedback token version {version} is not supported (expected 1)")
    key = _secret(secret)
    if flags & _SIGNED:
        message, signature = raw[:-_SIGNATURE_BYTES], raw[-_SIGNATURE_BYTES:]
        if key is not None and not hmac.compare_digest(signature, _sign(key, message)):
            raise InvalidTokenError("feedback token signature does not match; it was altered")
    elif key is not None:
        raise InvalidTokenError(
            f"feedback token is unsigned but {SECRET_ENV} is set; only signed tokens are accepted"
        )
    else:
        message = raw
    return _decode_body(message, flags, trace_raw, span_raw)


def _decode_body(message: bytes, flags: int, trace_raw: bytes, span_raw: bytes) -> FeedbackToken:
    offset = _HEAD.size
    try:
        root = None
        if flags & _HAS_ROOT:
            root = int.from_bytes(message[offset : offset + 8], "big")
            offset += 8
        (issued,) = _U64.unpack_from(message, offset)
        offset += _U64.size
        identities: list[str | None] = []
        for flag in (_HAS_SESSION, _HAS_USER):
            if flags & flag:
                (size,) = _LEN.unpack_from(message, offset)
                offset += _LEN.size
                chunk = message[offset : offset + size]
                if len(chunk) != size:
                    raise InvalidTokenError("feedback token is truncated")
                identities.append(chunk.decode("utf-8", errors="replace"))
                offset += size
            else:
                identities.append(None)
    except struct.error:
        raise InvalidTokenError("feedback token is truncated") from None
    if offset != len(message):
        raise InvalidTokenError("feedback token has trailing bytes")
    trace_id, span_id = int.from_bytes(trace_raw, "big"), int.from_bytes(span_raw, "big")
    if not trace_id or not span_id or root == 0:
        raise InvalidTokenError("feedback token holds an all-zero (invalid) trace or span id")
    return FeedbackToken(
        trace_id=trace_id,
        span_id=span_id,
        issued_at_ns=issued,
        root_span_id=root,
        sampled=bool(flags & _SAMPLED),
        session_id=identities[0],
        user_id=identities[1],
    )


def now_ns() -> int:
    """Wall-clock time in nanoseconds (the clock spans use)."""
    return time.time_ns()
