"""Feedback as MLflow assessments (extra ``[mlflow]``, on ``mlflow-tracing``).

MLflow shows feedback in its Assessments pane only when it is logged as assessments. Spans
sent to MLflow over OTLP (``/v1/traces`` with header ``x-mlflow-experiment-id``) become the
trace ``tr-<32 hex trace id>``; :class:`MLflowAssessmentExporter`, a span exporter added
beside the OTLP one, logs each feedback record on that trace: a *feedback* assessment with
its source type and id and the reason as rationale, or an *expectation* for
``ground_truth`` (and ``ground_truth.<name>``). ``feedback.id`` is kept in the assessment's
metadata and checked before writing, so a resend never adds a second assessment. Writes
happen on a background thread and wait (bounded) for MLflow to ingest the trace::

    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
        endpoint="http://127.0.0.1:5000/v1/traces", headers={"x-mlflow-experiment-id": "0"})))
    provider.add_span_processor(BatchSpanProcessor(
        MLflowAssessmentExporter(tracking_uri="http://127.0.0.1:5000", experiment_id="0")))
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from otel_feedback import conventions as names
from otel_feedback.bridges._worker import Outcome, QueueingExporter
from otel_feedback.bridges.records import FeedbackRecord

if TYPE_CHECKING:
    from mlflow.entities import Assessment
    from mlflow.tracing.client import TracingClient

logger = logging.getLogger("otel_feedback")

EXPERIMENT_HEADER = "x-mlflow-experiment-id"
"""The OTLP header that tells MLflow which experiment the spans belong to."""

_RETRY_CODES = frozenset(
    {
        "RESOURCE_DOES_NOT_EXIST",  # the trace is not ingested yet
        "NOT_FOUND",
        "TEMPORARILY_UNAVAILABLE",
        "INTERNAL_ERROR",
        "REQUEST_LIMIT_EXCEEDED",
        "DEADLINE_EXCEEDED",
        "ENDPOINT_NOT_FOUND",
    }
)
_PRIMITIVES = (bool, int, float, str)


def mlflow_trace_id(trace_id: str) -> str:
    """MLflow's id of a trace it ingested over OTLP: ``tr-<32 hex>``."""
    return f"tr-{trace_id}"


def _feedback_value(value: Any) -> Any:
    """A value MLflow's feedback accepts: a primitive, a flat mapping or list of them, else
    JSON text."""
    if value is None or isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, Mapping) and all(isinstance(v, _PRIMITIVES) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list) and all(isinstance(v, _PRIMITIVES) for v in value):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def _metadata(record: FeedbackRecord) -> dict[str, str]:
    """String metadata (MLflow's type) carrying what has no assessment field."""
    metadata = {names.FEEDBACK_ID: record.feedback_id}
    metadata.update(
        (key, item)
        for key, item in (
            (names.SCORE_LABEL, record.label),
            (names.KIND, record.kind),
            (names.TIMESTAMP, record.timestamp),
        )
        if item is not None
    )
    if record.score is not None and not isinstance(record.value, (bool, int, float)):
        metadata[names.SCORE_VALUE] = repr(record.score)
    for key, item in record.metadata.items():
        text = item if isinstance(item, str) else json.dumps(item, default=str)
        metadata[f"{names.METADATA_PREFIX}.{key}"] = text
    return metadata


def _epoch_ms(timestamp: str | None) -> int | None:
    if not timestamp:
        return None
    try:
        moment = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def assessment(record: FeedbackRecord) -> Assessment:
    """The MLflow assessment for one record: an expectation for ``ground_truth``, else
    feedback (with an error when the evaluation failed)."""
    from mlflow.entities import (  # noqa: PLC0415 - mlflow takes seconds to import
        AssessmentError,
        AssessmentSource,
        Expectation,
        Feedback,
    )

    source = AssessmentSource(
        source_type=record.source_type or "HUMAN", source_id=record.source_id or "default"
    )
    common: dict[str, Any] = {
        "name": record.name,
        "source": source,
        "metadata": _metadata(record),
        "span_id": record.span_id,
        "create_time_ms": _epoch_ms(record.timestamp),
    }
    if record.is_ground_truth:
        common["name"] = record.expectation_name
        return Expectation(value=record.value, **common)
    if record.error_type is not None:
        error = AssessmentError(error_code=record.error_type, error_message=record.error_message)
        return Feedback(error=error, rationale=record.explanation, **common)
    value = record.value if record.value is not None else record.score
    return Feedback(value=_feedback_value(value), rationale=record.explanation, **common)


class MLflowAssessmentExporter(QueueingExporter):
    """Mirror feedback records into MLflow as assessments on the traces it ingested.

    ``tracking_uri`` is the MLflow server (default: ``MLFLOW_TRACKING_URI``);
    ``experiment_id`` is the experiment your OTLP exporter sends to (its
    ``x-mlflow-experiment-id`` header, see :attr:`otlp_headers`). Never blocks or fails the
    application: problems are logged on ``otel_feedback`` and counted in
    ``otel_feedback.diagnostics()``.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment_id: str | None = None,
        *,
        max_wait: float = 300.0,
    ) -> None:
        if importlib.util.find_spec("mlflow") is None:
            raise ImportError(
                "MLflowAssessmentExporter needs the MLflow client: "
                "pip install 'otel-feedback[mlflow]'"
            )
        self.tracking_uri = tracking_uri
        self.experiment_id = experiment_id
        self._client: TracingClient | None = None
        super().__init__("otel-feedback-mlflow-bridge", max_wait=max_wait, batch_size=20)

    @property
    def otlp_headers(self) -> dict[str, str]:
        """The header an OTLP exporter needs so MLflow files the spans in this experiment."""
        return {EXPERIMENT_HEADER: self.experiment_id or "0"}

    # -- delivery (background thread) -------------------------------------------------------

    def _tracing_client(self) -> TracingClient:
        if self._client is None:
            from mlflow.tracing.client import TracingClient  # noqa: PLC0415 - slow import

            self._client = TracingClient(self.tracking_uri)
        return self._client

    def _deliver(self, records: Sequence[FeedbackRecord]) -> list[Outcome]:
        client = self._tracing_client()
        return [self._deliver_one(client, record) for record in records]

    def _deliver_one(self, client: TracingClient, record: FeedbackRecord) -> Outcome:
        from mlflow.exceptions import MlflowException  # noqa: PLC0415 - slow import

        trace_id = mlflow_trace_id(record.trace_id)
        try:
            info = client.get_trace_info(trace_id)
            if any(
                (existing.metadata or {}).get(names.FEEDBACK_ID) == record.feedback_id
                for existing in info.assessments
            ):
                return Outcome.DONE  # already logged, by this bridge or another
            client.log_assessment(trace_id, assessment(record))
        except MlflowException as error:
            code = str(getattr(error, "error_code", ""))
            if code in _RETRY_CODES or "API request" in str(error):
                return Outcome.RETRY
            logger.warning(
                "bridge_failed: MLflow refused feedback %r on %s (%s): %s",
                record.name,
                trace_id,
                code,
                str(error)[:300],
            )
            return Outcome.FAILED
        return Outcome.DONE
