"""Feedback tokens: a compact, URL-safe reference to a span, handed to a frontend.

A token carries the trace id, the span id, the local root span id when known, the moment it
was issued (so late feedback is placed inside the span's lifetime, and old tokens can be
refused), the sampled flag, and the session and user ids. With ``OTEL_FEEDBACK_TOKEN_SECRET``
set, tokens are signed (HMAC-SHA256, truncated to 128 bits) and a process holding the secret
rejects unsigned or altered tokens. The variable may hold several secrets separated by commas:
the first signs, every one verifies, so a secret can be rotated without refusing the tokens
already handed out.

Tokens are **signed, not encrypted**: anyone holding one can read the ids in it, including the
session and user ids. Leave identities out (``encode(include_identity=False)``) when a token
travels where those ids must not be seen; late feedback then carries the ids of the context
it is logged from.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

from otel_feedback._coerce import encodable, shown
from otel_feedback.context import usable_identity
from otel_feedback.conventions import ENV_TOKEN_SECRET
from otel_feedback.errors import ConfigurationError, ExpiredTokenError, InvalidTokenError
from otel_feedback.ids import span_id_hex, trace_id_hex
from otel_feedback.reporting import count, logger
from otel_feedback.settings import get_settings

SECRET_ENV = ENV_TOKEN_SECRET
Secret = str | bytes
"""One token secret."""
Secrets = Secret | Sequence[Secret]
"""What ``secret=`` accepts: one secret, or several (the first signs, all verify)."""
FUTURE_SKEW_SECONDS = 300.0
"""How far in the future an issue time may lie (clock skew between hosts) where ages are checked."""
_VERSION = 1
_SAMPLED, _HAS_ROOT, _HAS_SESSION, _HAS_USER, _SIGNED = 1, 2, 4, 8, 16
_HEAD = struct.Struct(">BB16s8s")
_U64 = struct.Struct(">Q")
_LEN = struct.Struct(">H")
_SIGNATURE_BYTES = 16
_MAX_IDENTITY_BYTES = 1024
MAX_TOKEN_CHARS = 2048
"""Longest token accepted; :meth:`FeedbackToken.encode` leaves identities out to stay within."""
MAX_TOKEN_BYTES = MAX_TOKEN_CHARS * 3 // 4
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

    def encode(self, secret: Secrets | None = None, *, include_identity: bool = True) -> str:
        """The token as a URL-safe string; signed when a secret is given or configured.

        With several secrets the first signs. ``include_identity=False`` leaves the session
        and user ids out: tokens are signed, not encrypted, so whoever holds one can read them.
        """
        if not (0 <= self.trace_id < 1 << 128 and 0 <= self.span_id < 1 << 64) or not (
            self.root_span_id is None or 0 <= self.root_span_id < 1 << 64
        ):
            raise InvalidTokenError("a feedback token holds 128-bit trace and 64-bit span ids")
        keys = resolve_secrets(secret)
        key = keys[0] if keys else None
        flags = _SAMPLED if self.sampled else 0
        body = bytearray()
        if self.root_span_id:
            flags |= _HAS_ROOT
            body += self.root_span_id.to_bytes(8, "big")
        body += _U64.pack(min(max(0, self.issued_at_ns), (1 << 64) - 1))
        # Identities share what is left under the longest token parse_feedback_token takes.
        room = MAX_TOKEN_BYTES - _HEAD.size - len(body) - (_SIGNATURE_BYTES if key else 0)
        identities = (self.session_id, self.user_id) if include_identity else (None, None)
        for flag, text in zip((_HAS_SESSION, _HAS_USER), identities, strict=True):
            raw = (usable_identity(text) or "").encode("utf-8")
            if len(raw) > _MAX_IDENTITY_BYTES or _LEN.size + len(raw) > room:
                count("token_identity_omitted")
                logger.warning(
                    "token_identity_omitted: a session or user id of %d bytes is too long for a "
                    "feedback token (max %d, %d left); left out, so late feedback carries the "
                    "ids of the context it is sent from",
                    len(raw),
                    _MAX_IDENTITY_BYTES,
                    max(0, room - _LEN.size),
                )
            elif raw:
                flags |= flag
                body += _LEN.pack(len(raw)) + raw
                room -= _LEN.size + len(raw)
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


def resolve_secrets(secret: Secrets | None) -> tuple[bytes, ...]:
    """The secrets in force: ``secret`` when given (one or several), else the configured ones.

    Raises :class:`~otel_feedback.InvalidTokenError` when ``secret`` is neither a ``str``,
    ``bytes`` nor a list of them (a secret that cannot be used must not silently verify
    nothing).
    """
    if secret is None:
        return get_settings().token_secrets
    if isinstance(secret, (str, bytes)):
        secret = (secret,)
    elif not isinstance(secret, (list, tuple)):
        raise InvalidTokenError(
            f"secret= must be a str, bytes or a list of them, got a {type(secret).__name__}"
        )
    keys: list[bytes] = []
    for key in secret:
        if isinstance(key, str):
            fixed, _ = encodable(str.__str__(key))
            keys.append(fixed.encode("utf-8"))
        elif isinstance(key, (bytes, bytearray)):
            keys.append(bytes(key))
        else:
            raise InvalidTokenError(
                f"each secret must be a str or bytes, got a {type(key).__name__}"
            )
    return tuple(key for key in keys if key)


def _sign(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


_FIX = "; pass the token exactly as current_feedback_token() returned it"
_FIX_SECRET = (
    f"; give this process the same {SECRET_ENV} (or secret=) as the process that issued it"
)


def parse_feedback_token(
    token: str,
    *,
    secret: Secrets | None = None,
    max_age: float | None = None,
    require_signature: bool | None = None,
    now: int | None = None,
) -> FeedbackToken:
    """Decode a token from :func:`current_feedback_token`.

    Raises :class:`~otel_feedback.InvalidTokenError` saying what is wrong and how to fix it.
    When secrets are given or configured, the token must carry a signature made with one of
    them (``require_signature=False`` also lets unsigned tokens through, while signed ones are
    still verified). With ``max_age`` (seconds), a token issued longer ago than that raises
    :class:`~otel_feedback.ExpiredTokenError`, and one issued more than
    :data:`FUTURE_SKEW_SECONDS` in the future (by ``now``, nanoseconds, default the wall
    clock) raises :class:`~otel_feedback.InvalidTokenError`. A ``secret`` of the wrong type
    raises :class:`~otel_feedback.InvalidTokenError`; a ``max_age`` or ``now`` that is not a
    number raises :class:`~otel_feedback.ConfigurationError`.
    """
    if max_age is not None and (
        isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or not max_age >= 0
    ):
        raise ConfigurationError(f"max_age= must be a number of seconds >= 0, got {shown(max_age)}")
    if now is not None and (isinstance(now, bool) or not isinstance(now, int)):
        raise ConfigurationError(f"now= must be an int of nanoseconds, got {shown(now)}")
    keys = resolve_secrets(secret)
    try:
        parsed = _parse(token, keys, require_signature)
    except InvalidTokenError as error:
        text = str(error)
        fix = _FIX_SECRET if "signed" in text or "signature" in text else _FIX
        raise InvalidTokenError(text + fix) from None
    if max_age is not None:
        check_age(parsed, max_age, now)
    return parsed


def check_age(token: FeedbackToken, max_age: float, now: int | None = None) -> None:
    """Raise unless ``token`` was issued within the last ``max_age`` seconds (see above)."""
    current = time.time_ns() if now is None else now
    age_ns = current - token.issued_at_ns
    if age_ns > max_age * 1e9:
        raise ExpiredTokenError(
            f"feedback token was issued {age_ns / 1e9:.0f} s ago; tokens are accepted for "
            f"{max_age:g} s; feedback on that answer is no longer taken"
        )
    if -age_ns > FUTURE_SKEW_SECONDS * 1e9:
        raise InvalidTokenError(
            f"feedback token says it was issued {-age_ns / 1e9:.0f} s in the future; "
            "check the clocks of the issuing host"
        )


def _parse(token: str, keys: tuple[bytes, ...], require_signature: bool | None) -> FeedbackToken:
    if not isinstance(token, str) or not token:
        got = "an empty string" if isinstance(token, str) else f"a {type(token).__name__}"
        raise InvalidTokenError(f"a feedback token must be a non-empty string, got {got}")
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidTokenError(
            f"feedback token is {len(token)} characters; tokens are at most {MAX_TOKEN_CHARS}"
        )
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
    if flags & _SIGNED:
        message, signature = raw[:-_SIGNATURE_BYTES], raw[-_SIGNATURE_BYTES:]
        if keys and not _verified(keys, message, signature):
            raise InvalidTokenError(
                "feedback token signature does not match; it was altered or signed with "
                "another secret"
            )
    elif keys and require_signature is not False:
        raise InvalidTokenError(
            f"feedback token is unsigned but {SECRET_ENV} is set; only signed tokens are accepted"
        )
    else:
        message = raw
    return _decode_body(message, flags, trace_raw, span_raw)


def _verified(keys: tuple[bytes, ...], message: bytes, signature: bytes) -> bool:
    """Whether any key made ``signature`` (every key is tried: no early exit to time)."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(signature, _sign(key, message))
    return matched


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
