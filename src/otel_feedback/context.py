"""Session and user identity carried in the OpenTelemetry context.

:func:`using_session` and :func:`using_user` put ``session.id`` / ``user.id`` into the current
context; :class:`~otel_feedback.FeedbackSpanProcessor` copies them onto every span started
inside. OpenInference's ``using_session`` / ``using_user`` keys are read too, so spans from
OpenInference instrumentations and ours agree.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar, cast

from opentelemetry import context as otel_context

from otel_feedback._diagnostics import report
from otel_feedback.errors import InvalidFeedbackError

SESSION_ID = "session.id"
"""Attribute (OTel semantic conventions) holding the session id."""
USER_ID = "user.id"
"""Attribute (OTel semantic conventions) holding the user id."""

_SESSION_KEY = otel_context.create_key("otel_feedback.session_id")
_USER_KEY = otel_context.create_key("otel_feedback.user_id")
# OpenInference stores them under the plain attribute names.
_OPENINFERENCE_SESSION_KEY = SESSION_ID
_OPENINFERENCE_USER_KEY = USER_ID

F = TypeVar("F", bound=Callable[..., Any])


def current_session_id(context: otel_context.Context | None = None) -> str | None:
    """The session id in ``context`` (default: the current one), if any."""
    value = otel_context.get_value(_SESSION_KEY, context)
    if value is None:
        value = otel_context.get_value(_OPENINFERENCE_SESSION_KEY, context)
    return value if isinstance(value, str) and value else None


def current_user_id(context: otel_context.Context | None = None) -> str | None:
    """The user id in ``context`` (default: the current one), if any."""
    value = otel_context.get_value(_USER_KEY, context)
    if value is None:
        value = otel_context.get_value(_OPENINFERENCE_USER_KEY, context)
    return value if isinstance(value, str) and value else None


def with_identity(
    context: otel_context.Context, session_id: str | None, user_id: str | None
) -> otel_context.Context:
    """``context`` with the given session / user ids set (``None`` leaves a value as is)."""
    if session_id:
        context = otel_context.set_value(_SESSION_KEY, session_id, context)
    if user_id:
        context = otel_context.set_value(_USER_KEY, user_id, context)
    return context


def _identity(value: object, what: str) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if not text:
        report("invalid_identity", InvalidFeedbackError(f"{what} is empty; ignored"), None)
        return None
    return text


class _UsingIdentity:
    """Context manager and decorator (sync and async) that sets identity values."""

    def __init__(self, values: dict[str, str | None]) -> None:
        self._values = values
        self._tokens: list[object] = []

    def _context(self) -> otel_context.Context:
        ctx = otel_context.get_current()
        for key, value in self._values.items():
            if value is not None:
                ctx = otel_context.set_value(key, value, ctx)
        return ctx

    def __enter__(self) -> _UsingIdentity:
        self._tokens.append(otel_context.attach(self._context()))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        otel_context.detach(self._tokens.pop())  # type: ignore[arg-type]

    async def __aenter__(self) -> _UsingIdentity:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)

    def __call__(self, function: F) -> F:
        """Decorate a function (or coroutine function) to run inside this identity."""
        values = self._values
        if inspect.iscoroutinefunction(function):
            coroutine_function = cast(Callable[..., Awaitable[Any]], function)

            @functools.wraps(function)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with _UsingIdentity(values):
                    return await coroutine_function(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _UsingIdentity(values):
                return function(*args, **kwargs)

        return cast(F, wrapper)


def using_session(session_id: str, user_id: str | None = None) -> _UsingIdentity:
    """Give every span started inside a ``session.id`` (and ``user.id``, when given).

    Use as ``with``, ``async with`` or as a decorator of sync or async functions.
    """
    values = {_SESSION_KEY: _identity(session_id, "session id")}
    if user_id is not None:
        values[_USER_KEY] = _identity(user_id, "user id")
    return _UsingIdentity(values)


def using_user(user_id: str) -> _UsingIdentity:
    """Give every span started inside a ``user.id``. ``with``, ``async with`` or decorator."""
    return _UsingIdentity({_USER_KEY: _identity(user_id, "user id")})
