"""The endpoint's options, checked once when an app is built.

Every factory (:func:`~otel_feedback.web.create_app`, :func:`~otel_feedback.web.create_wsgi_app`,
``otel-feedback serve``) takes the same options and turns them into one frozen
:class:`EndpointConfig` here. Secrets and the maximum token age default to
``OTEL_FEEDBACK_TOKEN_SECRET`` and ``OTEL_FEEDBACK_TOKEN_MAX_AGE`` (through
:func:`otel_feedback.settings.get_settings`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypedDict
from urllib.parse import urlsplit

from opentelemetry.trace import TracerProvider

from otel_feedback.conventions import ENV_TOKEN_SECRET
from otel_feedback.errors import ConfigurationError
from otel_feedback.settings import get_settings
from otel_feedback.token import Secrets, resolve_secrets

DEFAULT_RATE_LIMIT = 120
"""Requests per minute from one client address."""
DEFAULT_TOKEN_RATE_LIMIT = 60
"""Records per minute about one span (one token)."""


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """Bounds on what one request may hold; past them the request is refused (413 or 422)."""

    max_body_bytes: int = 64 * 1024
    """Largest request body (413 past it)."""
    max_records: int = 50
    """Most records in one request (a JSON list)."""
    max_name_chars: int = 128
    """Longest feedback name."""
    max_reason_chars: int = 4096
    """Longest reason (a comment)."""
    max_label_chars: int = 256
    """Longest label."""
    max_value_depth: int = 8
    """Most nested objects and lists inside one value."""

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if getattr(self, name) < 1:
                raise ConfigurationError(f"RequestLimits.{name} must be at least 1")


class EndpointOptions(TypedDict, total=False):
    """The keyword options every app factory takes (see :meth:`EndpointConfig.build`)."""

    secret: Secrets | None
    max_age: float | None
    cors_origins: Iterable[str]
    rate_limit: int
    token_rate_limit: int
    rate_limit_storage: str
    allow_unsigned: bool
    idempotency_size: int
    limits: RequestLimits | None
    tracer_provider: TracerProvider | None


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """Everything an endpoint needs to know, validated. Build it with :meth:`build`."""

    secrets: tuple[bytes, ...]
    max_age_seconds: float
    allow_unsigned: bool = False
    cors_origins: frozenset[str] = frozenset()
    rate_limit: int = DEFAULT_RATE_LIMIT
    token_rate_limit: int = DEFAULT_TOKEN_RATE_LIMIT
    rate_limit_storage: str = "memory://"
    idempotency_size: int = 100_000
    limits: RequestLimits = field(default_factory=RequestLimits)
    tracer_provider: TracerProvider | None = None

    @classmethod
    def build(
        cls,
        *,
        secret: Secrets | None = None,
        max_age: float | None = None,
        cors_origins: Iterable[str] = (),
        rate_limit: int = DEFAULT_RATE_LIMIT,
        token_rate_limit: int = DEFAULT_TOKEN_RATE_LIMIT,
        rate_limit_storage: str = "memory://",
        allow_unsigned: bool = False,
        idempotency_size: int = 100_000,
        limits: RequestLimits | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> EndpointConfig:
        """Check the options; raise :class:`~otel_feedback.ConfigurationError` if one is unsafe.

        ``secret`` (one or several; default ``OTEL_FEEDBACK_TOKEN_SECRET``) is required unless
        ``allow_unsigned`` is true. ``max_age`` is in seconds (default
        ``OTEL_FEEDBACK_TOKEN_MAX_AGE``, 30 days). Rate limits are per minute; 0 turns one off.
        """
        settings = get_settings()
        secrets = resolve_secrets(secret)
        if not secrets and not allow_unsigned:
            raise ConfigurationError(
                f"the feedback endpoint needs a token secret: set {ENV_TOKEN_SECRET} (or pass "
                "secret=) in the process that issues tokens and in this one; without one anyone "
                "could post feedback for any span. Pass allow_unsigned=True (--allow-unsigned) "
                "to run without it anyway"
            )
        age = settings.token_max_age_seconds if max_age is None else float(max_age)
        if not age > 0 or age == float("inf"):
            raise ConfigurationError(f"max_age must be a positive number of seconds, got {age!r}")
        if rate_limit < 0 or token_rate_limit < 0:
            raise ConfigurationError("rate limits must be >= 0 (0 turns a limit off)")
        if idempotency_size < 1:
            raise ConfigurationError("idempotency_size must be at least 1")
        return cls(
            secrets=secrets,
            max_age_seconds=age,
            allow_unsigned=allow_unsigned,
            cors_origins=frozenset(_origin(origin) for origin in cors_origins),
            rate_limit=rate_limit,
            token_rate_limit=token_rate_limit,
            rate_limit_storage=rate_limit_storage,
            idempotency_size=idempotency_size,
            limits=limits or RequestLimits(),
            tracer_provider=tracer_provider,
        )


def _origin(text: str) -> str:
    """``scheme://host[:port]`` as browsers send it in ``Origin``; ``*`` is refused."""
    origin = text.strip().rstrip("/")
    if origin == "*":
        raise ConfigurationError(
            "CORS origin '*' would let any web page post feedback; list the origins instead"
        )
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path:
        raise ConfigurationError(
            f"CORS origin {text!r} is not of the form https://host[:port] (no path)"
        )
    return f"{parts.scheme}://{parts.netloc}".lower()
