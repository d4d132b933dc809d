"""MLflow's span types and ``LiveSpan`` over an OpenTelemetry span.

``LiveSpan.trace_id`` is MLflow's form, ``"tr-"`` + the 32 hex digits of the OpenTelemetry
trace id (what MLflow's server names a trace it receives over OTLP); ``span_id`` is the 16 hex
digits of the OpenTelemetry span id. ``set_inputs`` / ``set_outputs`` write OpenInference
``input.value`` / ``output.value``; the span type becomes ``openinference.span.kind``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import Span as OtelSpan
from opentelemetry.trace import Status, StatusCode

import otel_feedback as fb
from otel_feedback.compat._spans import io_attributes, record_error
from otel_feedback.delivery import track
from otel_feedback.ids import span_id_hex, trace_id_hex

TRACE_ID_PREFIX = "tr-"


class SpanType:
    """MLflow's span types (any string is accepted)."""

    LLM = "LLM"
    CHAIN = "CHAIN"
    AGENT = "AGENT"
    TOOL = "TOOL"
    CHAT_MODEL = "CHAT_MODEL"
    RETRIEVER = "RETRIEVER"
    PARSER = "PARSER"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    MEMORY = "MEMORY"
    WORKFLOW = "WORKFLOW"
    TASK = "TASK"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"
    UNKNOWN = "UNKNOWN"


OPENINFERENCE_KINDS = {
    SpanType.LLM: "LLM",
    SpanType.CHAT_MODEL: "LLM",
    SpanType.CHAIN: "CHAIN",
    SpanType.PARSER: "CHAIN",
    SpanType.WORKFLOW: "CHAIN",
    SpanType.TASK: "CHAIN",
    SpanType.AGENT: "AGENT",
    SpanType.TOOL: "TOOL",
    SpanType.RETRIEVER: "RETRIEVER",
    SpanType.MEMORY: "RETRIEVER",
    SpanType.EMBEDDING: "EMBEDDING",
    SpanType.RERANKER: "RERANKER",
    SpanType.GUARDRAIL: "GUARDRAIL",
    SpanType.EVALUATOR: "EVALUATOR",
    SpanType.UNKNOWN: "UNKNOWN",
}
"""MLflow span types as OpenInference span kinds."""


class SpanStatusCode:
    OK = "OK"
    ERROR = "ERROR"
    UNSET = "UNSET"


@dataclass
class SpanEvent:
    """An event on a span: ``name``, ``timestamp`` (ns) and ``attributes``."""

    name: str
    timestamp: int = field(default_factory=time.time_ns)
    attributes: dict[str, Any] = field(default_factory=dict)


def mlflow_trace_id(trace_id: int) -> str:
    """``tr-<32 hex>``: MLflow's name of an OpenTelemetry trace."""
    return TRACE_ID_PREFIX + trace_id_hex(trace_id)


class LiveSpan:
    """A span being recorded, as MLflow's fluent API hands it out."""

    def __init__(self, otel_span: OtelSpan, span_type: str | None = None) -> None:
        self._span = otel_span
        self.span_type = span_type
        self._inputs: Any = None
        self._outputs: Any = None

    # -- identity -------------------------------------------------------------------------

    @property
    def trace_id(self) -> str:
        """``tr-<32 hex>``."""
        return mlflow_trace_id(self._span.get_span_context().trace_id)

    @property
    def request_id(self) -> str:
        """The trace id (MLflow 2's name for it)."""
        return self.trace_id

    @property
    def span_id(self) -> str:
        """16 hex digits. Handing it out tracks the span, so feedback logged by this id after
        the span ended sits inside its lifetime."""
        track(self._span)
        return span_id_hex(self._span.get_span_context().span_id)

    @property
    def parent_id(self) -> str | None:
        parent = getattr(self._span, "parent", None)
        return span_id_hex(parent.span_id) if parent is not None else None

    @property
    def name(self) -> str:
        return str(getattr(self._span, "name", ""))

    @property
    def attributes(self) -> dict[str, Any]:
        return dict(getattr(self._span, "attributes", None) or {})

    def get_attribute(self, key: str) -> Any:
        return self.attributes.get(key)

    @property
    def inputs(self) -> Any:
        return self._inputs

    @property
    def outputs(self) -> Any:
        return self._outputs

    @property
    def otel_span(self) -> OtelSpan:
        """The OpenTelemetry span underneath."""
        return self._span

    def __repr__(self) -> str:
        return f"LiveSpan(name={self.name!r}, trace_id={self.trace_id!r}, span_id={self.span_id!r})"

    # -- writing --------------------------------------------------------------------------

    def set_inputs(self, inputs: Any) -> None:
        self._inputs = inputs
        self._span.set_attributes(io_attributes("input", inputs))

    def set_outputs(self, outputs: Any) -> None:
        self._outputs = outputs
        self._span.set_attributes(io_attributes("output", outputs))

    def set_attribute(self, key: str, value: Any) -> None:
        self.set_attributes({key: value})

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Attributes; nested values are flattened (``key.sub``), as everywhere here."""
        self._span.set_attributes(fb.flatten(dict(attributes)))

    def set_span_type(self, span_type: str) -> None:
        from otel_feedback.conventions import OPENINFERENCE_SPAN_KIND  # noqa: PLC0415

        self.span_type = span_type
        self._span.set_attribute(
            OPENINFERENCE_SPAN_KIND, OPENINFERENCE_KINDS.get(str(span_type).upper(), "UNKNOWN")
        )

    def set_status(self, status: str) -> None:
        code = str(getattr(status, "status_code", status)).upper()
        if code == SpanStatusCode.ERROR:
            self._span.set_status(Status(StatusCode.ERROR, getattr(status, "description", None)))
        elif code == SpanStatusCode.OK:
            self._span.set_status(Status(StatusCode.OK))

    def add_event(self, event: SpanEvent) -> None:
        self._span.add_event(event.name, fb.flatten(event.attributes), event.timestamp)

    def record_exception(self, exception: BaseException | str) -> None:
        if isinstance(exception, BaseException):
            record_error(self._span, exception)
        else:
            self._span.set_status(Status(StatusCode.ERROR, exception))

    def end(
        self,
        outputs: Any = None,
        attributes: Mapping[str, Any] | None = None,
        status: str | None = None,
        end_time_ns: int | None = None,
    ) -> None:
        if outputs is not None:
            self.set_outputs(outputs)
        if attributes:
            self.set_attributes(attributes)
        if status is not None:
            self.set_status(status)
        self._span.end(end_time=end_time_ns)


Span = LiveSpan

__all__ = [
    "OPENINFERENCE_KINDS",
    "LiveSpan",
    "Span",
    "SpanEvent",
    "SpanStatusCode",
    "SpanType",
    "mlflow_trace_id",
]
