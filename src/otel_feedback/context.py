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
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, TypeVar, cast

from opentelemetry import baggage
from opentelemetry import context as otel_context

from otel_feedback._coerce import encodable
from otel_feedback.conventions import (
    OPENINFERENCE_SESSION_KEY,
    OPENINFERENCE_USER_KEY,
    SESSION_ID,
    USER_ID,
)
from otel_feedback.errors import InvalidFeedbackError
from otel_feedback.reporting import count, guarded, logger, report
from otel_feedback.settings import get_settings

__all__ = [
    "SESSION_ID",
    "USER_ID",
    "current_session_id",
    "current_user_id",
    "identity_baggage",
    "identity_of",
    "using_session",
    "using_user",
    "with_identity",
]

SESSION_KEY = otel_context.create_key("otel_feedback.session_id")
"""Context key of the session id set by :func:`using_session`."""
USER_KEY = otel_context.create_key("otel_feedback.user_id")
"""Context key of the user id set by :func:`using_session` / :func:`using_user`."""
LATE_FEEDBACK_KEY = otel_context.create_key("otel_feedback.late_feedback")
"""Context key marking the context a late ``feedback`` span starts in, so the processor never
takes one for a trace's local root (its parent is remote, or it has none)."""
_SESSION_KEY, _USER_KEY = SESSION_KEY, USER_KEY
_BAGGAGE_NAMES = {SESSION_KEY: SESSION_ID, USER_KEY: USER_ID}
_OPENINFERENCE_SESSION_KEY = OPENINFERENCE_SESSION_KEY
_OPENINFERENCE_USER_KEY = OPENINFERENCE_USER_KEY

F = TypeVar("F", bound=Callable[..., Any])


def current_session_id(context: otel_context.Context | None = None) -> str | None:
    """The session id in ``context`` (default: the current one), if any."""
    value = otel_context.get_value(_SESSION_KEY, context)
    if value is None:
        value = otel_context.get_value(_OPENINFERENCE_SESSION_KEY, context)
    return usable_identity(value)


def current_user_id(context: otel_context.Context | None = None) -> str | None:
    """The user id in ``context`` (default: the current one), if any."""
    value = otel_context.get_value(_USER_KEY, context)
    if value is None:
        value = otel_context.get_value(_OPENINFERENCE_USER_KEY, context)
    return usable_identity(value)


def with_identity(
    context: otel_context.Context, session_id: str | None, user_id: str | None
) -> otel_context.Context:
    """``context`` with the given session / user ids set (``None`` leaves a value as is)."""
    if session_id:
        context = otel_context.set_value(_SESSION_KEY, session_id, context)
    if user_id:
        context = otel_context.set_value(_USER_KEY, user_id, context)
    return context


MAX_IDENTITY_LENGTH = 1024
"""Longest session or user id kept (characters); longer ids are truncated and reported."""


def _identity(value: object, what: str) -> str | None:
    """A session or user id as text, repaired or dropped (reported) when it cannot be one.

    A ``str`` (or a number, or an object with its own ``__str__``) is kept as text; text
    with no UTF-8 form (lone surrogates) is repaired with U+FFFD; anything else, or a
    ``str()`` that raises (a huge int, a broken ``__str__``), is dropped. Each is reported.
    """
    if value is None:
        return None
    text: str | None = None
    if isinstance(value, str):
        text = str.__str__(value)
    elif isinstance(value, (int, float, bool)) or type(value).__str__ is not object.__str__:
        try:
            converted = str(value)
            text = str.__str__(converted)
        except Exception:  # noqa: BLE001 - a huge int, a broken __str__, deep nesting
            pass
    if text is None:
        report(
            "invalid_identity",
            InvalidFeedbackError(f"{what} must be a string, got {type(value).__name__}; ignored"),
        )
        return None
    if not text:
        report("invalid_identity", InvalidFeedbackError(f"{what} is empty; ignored"))
        return None
    if len(text) > MAX_IDENTITY_LENGTH:
        report(
            "invalid_identity",
            InvalidFeedbackError(
                f"{what} is {len(text)} characters; kept the first {MAX_IDENTITY_LENGTH}"
            ),
        )
        text = text[:MAX_IDENTITY_LENGTH]
    if not text.isascii():
        text, repaired = encodable(text)
        if repaired:
            report(
                "unencodable_text",
                InvalidFeedbackError(
                    f"{what} held lone surrogates (text with no UTF-8 form); replaced them "
                    "with U+FFFD"
                ),
            )
    return text


class _UsingIdentity:
    """Context manager and decorator (sync and async) that sets identity values.

    One object may be entered by many threads and tasks at once, and re-entered: what each
    entry must undo lives in a context variable (per thread, per task), not on the object,
    and is reset on exit so no context keeps a trace of it.
    """

    def __init__(self, values: dict[str, str | None], propagate: bool = False) -> None:
        self._values = values
        self._propagate = propagate
        self._entries: ContextVar[tuple[tuple[object, Token[Any]], ...]] = ContextVar(
            "otel_feedback.identity_entries", default=()
        )

    def _context(self) -> otel_context.Context:
        ctx = otel_context.get_current()
        for key, value in self._values.items():
            if value is not None:
                ctx = otel_context.set_value(key, value, ctx)
                if self._propagate:
                    ctx = baggage.set_baggage(_BAGGAGE_NAMES[key], value, ctx)
        return ctx

    def __enter__(self) -> _UsingIdentity:
        attached = otel_context.attach(self._context())
        entries = self._entries
        stack = entries.get()
        # The reset token is only known once set: the entry holds the one of the set before.
        previous = entries.set(stack)
        entries.set((*stack, (attached, previous)))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        stack = self._entries.get()
        if not stack:
            raise RuntimeError("using_session()/using_user() exited without being entered")
        attached, previous = stack[-1]
        try:
            self._entries.reset(previous)
        except ValueError:  # exited in another context than entered (OTel logs the detach)
            self._entries.set(stack[:-1])
        otel_context.detach(attached)  # type: ignore[arg-type]

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
        values, propagate = self._values, self._propagate
        if inspect.iscoroutinefunction(function):
            coroutine_function = cast(Callable[..., Awaitable[Any]], function)

            @functools.wraps(function)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with _UsingIdentity(values, propagate):
                    return await coroutine_function(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _UsingIdentity(values, propagate):
                return function(*args, **kwargs)

        return cast(F, wrapper)


_NO_IDENTITY = _UsingIdentity({})
"""What a helper returns when its arguments could not be used: sets nothing."""


@guarded(_NO_IDENTITY)
def using_session(
    session_id: str,
    user_id: str | None = None,
    *,
    propagate: bool = False,
    strict: bool | None = None,
) -> _UsingIdentity:
    """Give every span started inside a ``session.id`` (and ``user.id``, when given).

    Use as ``with``, ``async with`` or as a decorator of sync or async functions. With
    ``propagate=True`` the ids also go into W3C baggage, so outgoing requests carry them to
    services that read them (``OTEL_FEEDBACK_IDENTITY_FROM_BAGGAGE=true``). One object may be
    shared by many threads and tasks. An id that cannot be text is reported and ignored
    (strict mode: raises :class:`~otel_feedback.InvalidFeedbackError`).
    """
    values = {_SESSION_KEY: _identity(session_id, "session id")}
    if user_id is not None:
        values[_USER_KEY] = _identity(user_id, "user id")
    return _UsingIdentity(values, propagate)


@guarded(_NO_IDENTITY)
def using_user(
    user_id: str, *, propagate: bool = False, strict: bool | None = None
) -> _UsingIdentity:
    """Give every span started inside a ``user.id``. ``with``, ``async with`` or decorator.

    ``propagate=True`` also puts it into W3C baggage (see :func:`using_session`)."""
    return _UsingIdentity({_USER_KEY: _identity(user_id, "user id")}, propagate)


def identity_of(context: otel_context.Context) -> tuple[str | None, str | None]:
    """``(session id, user id)`` in ``context``, as :func:`current_session_id` /
    :func:`current_user_id` read them; the processor calls this once per new context."""
    get = context.get
    session_id = get(SESSION_KEY)
    if session_id is None:
        session_id = get(OPENINFERENCE_SESSION_KEY)
    user_id = get(USER_KEY)
    if user_id is None:
        user_id = get(OPENINFERENCE_USER_KEY)
    if (session_id is None or user_id is None) and get_settings().identity_from_baggage:
        entries = baggage.get_all(context)
        if entries:
            if session_id is None:
                session_id = _from_baggage(entries.get(SESSION_ID))
            if user_id is None:
                user_id = _from_baggage(entries.get(USER_ID))
    return usable_identity(session_id), usable_identity(user_id)


def _from_baggage(value: object) -> str | None:
    """A baggage entry as an identity: a non-empty string within the length limit, else
    ``None`` (counted as ``invalid_identity``: clients control baggage)."""
    if value is None:
        return None
    if isinstance(value, str) and 0 < len(value) <= MAX_IDENTITY_LENGTH and value.isprintable():
        return value
    count("invalid_identity")
    return None


def identity_baggage(
    session_id: str | None = None,
    user_id: str | None = None,
    context: otel_context.Context | None = None,
) -> otel_context.Context:
    """``context`` (default: the current one) with ``session.id`` / ``user.id`` baggage
    entries, for a caller that starts a request to a service reading identity from baggage
    (``opentelemetry.propagate.inject(headers, context=...)`` then sends them)."""
    ctx = context if context is not None else otel_context.get_current()
    for name, value in ((SESSION_ID, session_id), (USER_ID, user_id)):
        checked = _identity(value, name.replace(".", " ")) if value is not None else None
        if checked is not None:
            ctx = baggage.set_baggage(name, checked, ctx)
    return ctx


def usable_identity(value: object) -> str | None:
    """A session or user id found in a context, a span or a token as attribute text: a
    non-empty ``str`` (set by other libraries too, so text with no UTF-8 form is repaired
    here, logged and counted), else ``None``."""
    if not isinstance(value, str) or not value:
        return None
    if value.isascii():
        return value
    text, repaired = encodable(str.__str__(value))
    if repaired:
        count("unencodable_text")
        logger.warning(
            "unencodable_text: a session or user id held lone surrogates (text with no UTF-8 "
            "form); replaced them with U+FFFD"
        )
    return text
