"""Every ``OTEL_FEEDBACK_*`` setting, read in one place at one documented time.

The environment is read **once, the first time a setting is needed** (usually the first
feedback call or span), and kept in one frozen :class:`Settings`. Changing a variable later
has no effect until :func:`reload_settings` is called — tests do that after
``monkeypatch.setenv``. Invalid values are logged on the ``otel_feedback`` logger and the
default is used: a bad variable never stops the host application.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from otel_feedback import conventions as names

_logger = logging.getLogger(names.SCOPE_NAME)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})

DEFAULT_TOKEN_MAX_AGE_SECONDS = 30 * 24 * 3600
"""Thirty days."""
DEFAULT_MAX_VALUE_BYTES = 64 * 1024
"""64 KiB: a reason of the documented 65,536 ASCII characters fits whole."""
DEFAULT_MAX_RECORD_BYTES = 256 * 1024
"""256 KiB: sixteen such records still fit one 4 MiB gRPC message."""
DEFAULT_MAX_KEYS = 1000
"""Attributes one call may produce: at most eight spans' worth at OTel's default of 128."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The settings in force. Build one with :meth:`from_environment` or by keywords."""

    strict: bool = False
    """Raise typed errors instead of logging and counting bad input (``OTEL_FEEDBACK_STRICT``)."""
    token_secrets: tuple[bytes, ...] = ()
    """Token secrets; the first signs, all verify (``OTEL_FEEDBACK_TOKEN_SECRET``, comma list)."""
    token_max_age_seconds: float = DEFAULT_TOKEN_MAX_AGE_SECONDS
    """Oldest token accepted where ages are checked (``OTEL_FEEDBACK_TOKEN_MAX_AGE``)."""
    max_object_depth: int = 5
    """Nested mappings on a path before the rest is JSON (``OTEL_FEEDBACK_MAX_OBJECT_DEPTH``)."""
    max_array_depth: int = 2
    """Nested lists on a path before the rest is JSON (``OTEL_FEEDBACK_MAX_ARRAY_DEPTH``)."""
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES
    """Longest string value kept, in UTF-8 bytes (``OTEL_FEEDBACK_MAX_VALUE_BYTES``)."""
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    """Largest total of one call's attributes, in bytes (``OTEL_FEEDBACK_MAX_RECORD_BYTES``)."""
    max_keys: int = DEFAULT_MAX_KEYS
    """Most attributes one call may produce (``OTEL_FEEDBACK_MAX_KEYS``)."""
    outbox_path: str | None = None
    """SQLite outbox for durable late feedback, or ``None`` (``OTEL_FEEDBACK_OUTBOX``)."""
    outbox_max_records: int = 100_000
    """Most records the outbox holds (``OTEL_FEEDBACK_OUTBOX_MAX_RECORDS``)."""
    outbox_max_bytes: int = 256 * 1024 * 1024
    """Most bytes of stored spans the outbox holds (``OTEL_FEEDBACK_OUTBOX_MAX_BYTES``)."""
    outbox_sync: str = "normal"
    """``normal`` or ``full``: the outbox's SQLite ``synchronous``
    (``OTEL_FEEDBACK_OUTBOX_SYNC``)."""
    identity_from_baggage: bool = False
    """Copy baggage ``session.id`` / ``user.id`` onto spans
    (``OTEL_FEEDBACK_IDENTITY_FROM_BAGGAGE``)."""
    judge_model: str = "gpt-4o-mini"
    """Model an LLM judge asks when none is given (``OTEL_FEEDBACK_JUDGE_MODEL``)."""
    metrics_span_attributes: tuple[str, ...] = names.METRIC_SPAN_ATTRIBUTES
    """Rated-span attributes copied onto feedback metrics
    (``OTEL_FEEDBACK_METRICS_SPAN_ATTRIBUTES``, comma list; empty: none)."""
    metrics_labels: tuple[str, ...] = ()
    """Labels kept as a metric attribute besides ``true``/``false``
    (``OTEL_FEEDBACK_METRICS_LABELS``, comma list)."""

    @property
    def signing_secret(self) -> bytes | None:
        """The secret that signs new tokens (the first configured), or ``None``."""
        return self.token_secrets[0] if self.token_secrets else None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); invalid values are logged."""
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            strict=_flag(env, names.ENV_STRICT, defaults.strict),
            token_secrets=parse_secrets(env.get(names.ENV_TOKEN_SECRET)),
            token_max_age_seconds=_number(
                env, names.ENV_TOKEN_MAX_AGE, defaults.token_max_age_seconds, minimum=1
            ),
            max_object_depth=int(
                _number(env, names.ENV_MAX_OBJECT_DEPTH, defaults.max_object_depth, whole=True)
            ),
            max_array_depth=int(
                _number(env, names.ENV_MAX_ARRAY_DEPTH, defaults.max_array_depth, whole=True)
            ),
            max_value_bytes=int(
                _number(env, names.ENV_MAX_VALUE_BYTES, defaults.max_value_bytes, 1, whole=True)
            ),
            max_record_bytes=int(
                _number(env, names.ENV_MAX_RECORD_BYTES, defaults.max_record_bytes, 1, whole=True)
            ),
            max_keys=int(_number(env, names.ENV_MAX_KEYS, defaults.max_keys, 1, whole=True)),
            outbox_path=(env.get(names.ENV_OUTBOX) or "").strip() or None,
            outbox_max_records=int(
                _number(env, names.ENV_OUTBOX_MAX_RECORDS, defaults.outbox_max_records, 1,
                        whole=True)
            ),
            outbox_max_bytes=int(
                _number(env, names.ENV_OUTBOX_MAX_BYTES, defaults.outbox_max_bytes, 1, whole=True)
            ),
            outbox_sync=_choice(env, names.ENV_OUTBOX_SYNC, ("normal", "full"),
                                defaults.outbox_sync),
            identity_from_baggage=_flag(
                env, names.ENV_IDENTITY_FROM_BAGGAGE, defaults.identity_from_baggage
            ),
            judge_model=(env.get(names.ENV_JUDGE_MODEL) or "").strip() or defaults.judge_model,
            metrics_span_attributes=_names(
                env, names.ENV_METRICS_SPAN_ATTRIBUTES, defaults.metrics_span_attributes
            ),
            metrics_labels=_names(env, names.ENV_METRICS_LABELS, defaults.metrics_labels),
        )


def parse_secrets(raw: str | bytes | None) -> tuple[bytes, ...]:
    """A comma-separated list of secrets (a str) as bytes; ``bytes`` is one secret as is."""
    if raw is None:
        return ()
    if isinstance(raw, bytes):
        return (raw,) if raw else ()
    return tuple(part.strip().encode("utf-8") for part in raw.split(",") if part.strip())


def _names(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list (unset: ``default``; set but empty: none), duplicates dropped."""
    raw = env.get(name)
    if raw is None:
        return default
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    _logger.warning("%s=%r is not true or false; using %s", name, raw, str(default).lower())
    return default


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in allowed:
        return value
    _logger.warning("%s=%r is not one of %s; using %s", name, raw, ", ".join(allowed), default)
    return default


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    minimum: float = 0,
    *,
    whole: bool = False,
) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(int(raw)) if whole else float(raw)
    except ValueError:
        value = minimum - 1
    if not value >= minimum or value == float("inf"):  # also catches NaN
        kind = "whole number" if whole else "number"
        _logger.warning(
            "%s=%r is not a %s >= %s; using %s", name, raw, kind, f"{minimum:g}", f"{default:g}"
        )
        return default
    return value


_lock = threading.Lock()
_current: Settings | None = None


def get_settings() -> Settings:
    """The settings in force: read from the environment on first use, then kept."""
    current = _current
    if current is None:
        return reload_settings()
    return current


def reload_settings(settings: Settings | None = None) -> Settings:
    """Re-read the environment (or install ``settings``) and return what is now in force."""
    global _current
    fresh = settings if settings is not None else Settings.from_environment()
    with _lock:
        _current = fresh
    return fresh
