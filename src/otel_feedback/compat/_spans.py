"""Spans around decorated functions, shared by Opik's ``track``, MLflow's ``trace`` and
HoneyHive's ``trace``.

:func:`wrap` turns a function (sync, async, generator or async generator) into one that runs
inside a span. Each SDK says how to start the span (``begin``: name, attributes, captured
input) and how to finish it (``end``: captured output, error). A generator's span stays open
until it is exhausted or closed, and is current only while the generator's own code runs.
The compat code never raises into the application: its own failures are logged and counted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import inspect
import json
from collections.abc import AsyncIterator, Callable, Generator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar, cast

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from otel_feedback.conventions import (
    OPENINFERENCE_INPUT_MIME_TYPE,
    OPENINFERENCE_INPUT_VALUE,
    OPENINFERENCE_OUTPUT_MIME_TYPE,
    OPENINFERENCE_OUTPUT_VALUE,
)
from otel_feedback.reporting import count, logger

F = TypeVar("F", bound=Callable[..., Any])

TEXT = "text/plain"
JSON = "application/json"

Binder = Callable[[], AbstractContextManager[object]]
"""Something to keep active while the span's code runs (a context variable, a session)."""


class Run:
    """One started span and what must be active while its code runs.

    ``with run:`` makes the span current (and enters the binders); it can be entered many
    times, once per step of a generator. :meth:`finish` ends the span.
    """

    __slots__ = ("_entered", "binders", "span")

    def __init__(self, span: Span, binders: Sequence[Binder] = ()) -> None:
        self.span = span
        self.binders = tuple(binders)
        self._entered: list[tuple[object, list[AbstractContextManager[object]]]] = []

    def __enter__(self) -> Span:
        token = otel_context.attach(trace.set_span_in_context(self.span))
        managers = [binder() for binder in self.binders]
        for manager in managers:
            manager.__enter__()
        self._entered.append((token, managers))
        return self.span

    def __exit__(self, *exc_info: object) -> None:
        token, managers = self._entered.pop()
        for manager in reversed(managers):
            manager.__exit__(None, None, None)
        otel_context.detach(token)  # type: ignore[arg-type]

    def finish(self, error: BaseException | None = None) -> None:
        """Record ``error`` (if any) and end the span."""
        if error is not None:
            record_error(self.span, error)
        self.span.end()


def record_error(span: Span, error: BaseException) -> None:
    """The exception as an ``exception`` event and an error status."""
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))


# -- inputs and outputs as OpenInference input.value / output.value ----------------------------


def _jsonable(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def to_text(value: object) -> tuple[str, str]:
    """``(text, mime type)``: a string as it is, anything else as JSON."""
    if isinstance(value, str):
        return value, TEXT
    try:
        return json.dumps(value, default=_jsonable, ensure_ascii=False), JSON
    except (TypeError, ValueError, RecursionError):
        return str(value), TEXT


def io_attributes(key: str, value: object) -> dict[str, str]:
    """``input.value`` + ``input.mime_type`` (``key="input"``), or the same for output."""
    if key == "input":
        value_key, mime_key = OPENINFERENCE_INPUT_VALUE, OPENINFERENCE_INPUT_MIME_TYPE
    else:
        value_key, mime_key = OPENINFERENCE_OUTPUT_VALUE, OPENINFERENCE_OUTPUT_MIME_TYPE
    text, mime = to_text(value)
    return {value_key: text, mime_key: mime}


def merged_io(span: Span, key: str, value: object) -> dict[str, str]:
    """Like :func:`io_attributes`, but a mapping updates the JSON object already on the span
    (update, never overwrite), as the SDKs' ``update``/``enrich`` calls do."""
    value_key = OPENINFERENCE_INPUT_VALUE if key == "input" else OPENINFERENCE_OUTPUT_VALUE
    current = (getattr(span, "attributes", None) or {}).get(value_key)
    if isinstance(value, Mapping) and isinstance(current, str):
        with contextlib.suppress(ValueError):
            before = json.loads(current)
            if isinstance(before, dict):
                value = {**before, **value}
    return io_attributes(key, value)


def arguments(
    signature: inspect.Signature | None,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    ignore: Sequence[str] = (),
) -> dict[str, Any]:
    """The call's arguments by parameter name (``self``/``cls`` and ``ignore`` left out)."""
    if signature is None:
        return {"args": list(args), "kwargs": dict(kwargs)}
    try:
        given = signature.bind_partial(*args, **kwargs)
    except TypeError:
        return {"args": list(args), "kwargs": dict(kwargs)}
    captured: dict[str, Any] = {}
    for position, (name, value) in enumerate(given.arguments.items()):
        if (position == 0 and name in ("self", "cls")) or name in ignore:
            continue
        parameter = signature.parameters[name]
        if parameter.kind is inspect.Parameter.VAR_KEYWORD and isinstance(value, Mapping):
            captured.update(value)
        else:
            captured[name] = value
    return captured


def signature_of(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def join_items(items: list[Any]) -> Any:
    """What a generator produced: its strings joined, else the list of its items."""
    if items and all(isinstance(item, str) for item in items):
        return "".join(items)
    return items


# -- the wrapper --------------------------------------------------------------------------------

Begin = Callable[[tuple[Any, ...], dict[str, Any]], Run]
End = Callable[[Run, Any, BaseException | None], None]


def _begin(begin: Begin, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Run | None:
    try:
        return begin(args, kwargs)
    except Exception:  # noqa: BLE001 - tracing must not break the host app
        count("internal_error")
        logger.exception("otel_feedback.compat: starting a span failed; the call runs untraced")
        return None


def _end(end: End, run: Run, output: Any, error: BaseException | None) -> None:
    try:
        end(run, output, error)
    except Exception:  # noqa: BLE001 - tracing must not break the host app
        count("internal_error")
        logger.exception("otel_feedback.compat: finishing a span failed")
        with contextlib.suppress(Exception):
            run.span.end()


def wrap(
    func: F,
    begin: Begin,
    end: End,
    reduce: Callable[[list[Any]], Any] = join_items,
) -> F:
    """``func`` running inside a span that ``begin`` starts and ``end`` finishes.

    ``end`` gets the return value, or for a generator ``reduce(items it yielded)``, and the
    exception that escaped (``None`` when there was none).
    """
    if inspect.isasyncgenfunction(func):
        return cast(F, _wrap_async_generator(func, begin, end, reduce))
    if inspect.isgeneratorfunction(func):
        return cast(F, _wrap_generator(func, begin, end, reduce))
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            run = _begin(begin, args, kwargs)
            if run is None:
                return await func(*args, **kwargs)
            try:
                with run:
                    result = await func(*args, **kwargs)
            except BaseException as error:
                _end(end, run, None, error)
                raise
            _end(end, run, result, None)
            return result

        return cast(F, run_async)

    @functools.wraps(func)
    def run_sync(*args: Any, **kwargs: Any) -> Any:
        run = _begin(begin, args, kwargs)
        if run is None:
            return func(*args, **kwargs)
        try:
            with run:
                result = func(*args, **kwargs)
        except BaseException as error:
            _end(end, run, None, error)
            raise
        _end(end, run, result, None)
        return result

    return cast(F, run_sync)


def _wrap_generator(
    func: Callable[..., Generator[Any, Any, Any]],
    begin: Begin,
    end: End,
    reduce: Callable[[list[Any]], Any],
) -> Callable[..., Any]:
    @functools.wraps(func)
    def run_generator(*args: Any, **kwargs: Any) -> Any:
        run = _begin(begin, args, kwargs)
        if run is None:
            return (yield from func(*args, **kwargs))
        items: list[Any] = []
        try:
            with run:
                iterator = func(*args, **kwargs)
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                with run:
                    try:
                        item = iterator.throw(thrown) if thrown else iterator.send(sent)
                    except StopIteration as stop:
                        result = stop.value
                        break
                thrown = None
                items.append(item)
                try:
                    sent = yield item
                except GeneratorExit:
                    iterator.close()
                    raise
                except BaseException as error:  # noqa: BLE001 - thrown in by the consumer
                    thrown, sent = error, None
        except GeneratorExit:
            _end(end, run, reduce(items), None)  # the consumer stopped early: not an error
            raise
        except BaseException as error:
            _end(end, run, reduce(items), error)
            raise
        _end(end, run, reduce(items), None)
        return result

    return run_generator


def _wrap_async_generator(
    func: Callable[..., AsyncIterator[Any]],
    begin: Begin,
    end: End,
    reduce: Callable[[list[Any]], Any],
) -> Callable[..., Any]:
    @functools.wraps(func)
    async def run_async_generator(*args: Any, **kwargs: Any) -> Any:
        run = _begin(begin, args, kwargs)
        if run is None:
            async for item in func(*args, **kwargs):
                yield item
            return
        items: list[Any] = []
        try:
            with run:
                iterator: Any = func(*args, **kwargs)
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                with run:
                    try:
                        step = iterator.athrow(thrown) if thrown else iterator.asend(sent)
                        item = await step
                    except StopAsyncIteration:
                        break
                thrown = None
                items.append(item)
                try:
                    sent = yield item
                except GeneratorExit:
                    await iterator.aclose()
                    raise
                except BaseException as error:  # noqa: BLE001 - thrown in by the consumer
                    thrown, sent = error, None
        except GeneratorExit:
            _end(end, run, reduce(items), None)
            raise
        except BaseException as error:
            _end(end, run, reduce(items), error)
            raise
        _end(end, run, reduce(items), None)

    return run_async_generator


def decorator_or_call(
    func: Callable[..., Any] | None, make: Callable[[Callable[..., Any]], Any]
) -> Any:
    """Support both ``@deco`` and ``@deco(...)``: ``make(func)`` now, or a decorator."""
    if func is not None and callable(func):
        return make(func)
    return make


class bound:
    """``variable`` (a ``ContextVar``) set to ``value`` inside the block."""

    __slots__ = ("_token", "_value", "_variable")

    def __init__(self, variable: Any, value: object) -> None:
        self._variable = variable
        self._value = value
        self._token: Any = None

    def __enter__(self) -> None:
        self._token = self._variable.set(self._value)

    def __exit__(self, *exc_info: object) -> None:
        self._variable.reset(self._token)
