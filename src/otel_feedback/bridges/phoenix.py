"""Feedback as Arize Phoenix annotations (extra ``[phoenix]``, on ``arize-phoenix-client``).

Phoenix shows feedback in its annotation columns, with its own averages and filters, only
when it is written as annotations. :class:`PhoenixAnnotationExporter` is a span exporter
added beside the OTLP one: it finds the ``gen_ai.evaluation.result`` records in the spans it
is given and writes each as a span annotation on the rated span (a trace annotation when
only the trace is known), with ``identifier`` = ``feedback.id`` so a resend updates instead
of duplicating. Writes happen on a background thread; Phoenix answers 404 until it has
ingested the span, so those are retried with backoff, for at most ``max_wait`` seconds::

    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(...)))
    provider.add_span_processor(BatchSpanProcessor(PhoenixAnnotationExporter()))
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from phoenix.client import Client

from otel_feedback import conventions as names
from otel_feedback.bridges._worker import Outcome, QueueingExporter
from otel_feedback.bridges.records import FeedbackRecord, records_from_stored_span

logger = logging.getLogger("otel_feedback")

DEFAULT_ENDPOINT = "http://127.0.0.1:6006"
DEFAULT_PROJECT = "default"
_RETRY_STATUSES = frozenset({404, 408, 425, 429, 500, 502, 503, 504})


def base_url(endpoint: str) -> str:
    """Phoenix's base URL from what a user may paste (an OTLP ``.../v1/traces`` URL too)."""
    url = endpoint.strip().rstrip("/")
    for suffix in ("/v1/traces", "/v1"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


def annotation(record: FeedbackRecord) -> dict[str, Any]:
    """The Phoenix annotation body for one record (span or trace annotation)."""
    result: dict[str, Any] = {}
    if record.score is not None:
        result["score"] = record.score
    if record.label is not None:
        result["label"] = record.label
    elif record.error_type is not None:
        result["label"] = "error"
    explanation = record.explanation or record.error_message
    if explanation is not None:
        result["explanation"] = explanation
    metadata: dict[str, Any] = {names.FEEDBACK_ID: record.feedback_id}
    metadata.update(
        (key, item)
        for key, item in (
            (names.SOURCE_TYPE, record.source_type),
            (names.SOURCE_ID, record.source_id),
            (names.KIND, record.kind),
            (names.TIMESTAMP, record.timestamp),
            (names.ERROR_TYPE, record.error_type),
        )
        if item is not None
    )
    if record.value is not None and not isinstance(record.value, (bool, int, float)):
        metadata[names.FEEDBACK_VALUE] = record.value
    if record.metadata:
        metadata[names.METADATA_PREFIX] = dict(record.metadata)
    body: dict[str, Any] = {
        "name": record.name,
        "annotator_kind": record.annotator_kind,
        "identifier": record.feedback_id,
        "metadata": metadata,
    }
    if result:
        body["result"] = result
    if record.span_id is not None:
        body["span_id"] = record.span_id
    else:
        body["trace_id"] = record.trace_id
    return body


class PhoenixAnnotationExporter(QueueingExporter):
    """Mirror feedback records into Phoenix as span (or trace) annotations.

    ``endpoint`` is Phoenix's base URL (an OTLP ``.../v1/traces`` URL is accepted too);
    ``project`` is the project the spans go to (used by :meth:`sync`). ``api_key`` and
    ``headers`` are passed to ``phoenix.client.Client``. Never blocks or fails the
    application: problems are logged on ``otel_feedback`` and counted in
    ``otel_feedback.diagnostics()`` (``bridge_gave_up``, ``bridge_failed``,
    ``bridge_dropped``).
    """

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        project: str = DEFAULT_PROJECT,
        *,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        max_wait: float = 300.0,
    ) -> None:
        self.endpoint = base_url(endpoint)
        self.project = project
        self._client = Client(base_url=self.endpoint, api_key=api_key, headers=headers)
        super().__init__("otel-feedback-phoenix-bridge", max_wait=max_wait)

    # -- one-shot sync -----------------------------------------------------------------------

    def stored_records(self, *, limit: int = 100_000) -> list[FeedbackRecord]:
        """The feedback records in the spans stored in :attr:`project`."""
        spans = self._client.spans.get_spans(project_identifier=self.project, limit=limit)
        records: list[FeedbackRecord] = []
        for span in spans:
            records.extend(records_from_stored_span(span))
        return records

    def sync(self, *, limit: int = 100_000, timeout: float = 120.0) -> tuple[int, int]:
        """Write annotations for the feedback already stored in Phoenix.

        Returns ``(found, written)``: the records found in stored spans, and how many of
        them were written within ``timeout`` (an upsert: a second sync writes the same).
        """
        records = self.stored_records(limit=limit)
        before = self._worker.counts["delivered"]
        self._worker.submit(records)
        self._worker.flush(timeout)
        return len(records), self._worker.counts["delivered"] - before

    # -- delivery (background thread) -------------------------------------------------------

    def _deliver(self, records: Sequence[FeedbackRecord]) -> list[Outcome]:
        outcomes = [Outcome.RETRY] * len(records)
        spans = [i for i, record in enumerate(records) if record.span_id is not None]
        traces = [i for i, record in enumerate(records) if record.span_id is None]
        for indices, write in ((spans, self._write_spans), (traces, self._write_traces)):
            if not indices:
                continue
            group = [records[i] for i in indices]
            for index, outcome in zip(indices, self._write_group(group, write), strict=True):
                outcomes[index] = outcome
        return outcomes

    def _write_group(self, group: list[FeedbackRecord], write: Any) -> list[Outcome]:
        outcome = self._try(group, write)
        if outcome is not Outcome.RETRY or len(group) == 1:
            return [outcome] * len(group)
        # One missing span refuses the whole batch: find out which, one by one.
        return [self._try([record], write) for record in group]

    def _try(self, group: list[FeedbackRecord], write: Any) -> Outcome:
        try:
            write([annotation(record) for record in group])
        except httpx.HTTPStatusError as error:
            status = error.response.status_code
            if status in _RETRY_STATUSES:
                return Outcome.RETRY
            logger.warning(
                "bridge_failed: Phoenix refused %d annotation(s) (HTTP %d): %s",
                len(group),
                status,
                error.response.text[:300],
            )
            return Outcome.FAILED
        except httpx.TransportError:
            return Outcome.RETRY
        return Outcome.DONE

    def _write_spans(self, bodies: list[dict[str, Any]]) -> None:
        self._client.spans.log_span_annotations(span_annotations=bodies, sync=True)  # type: ignore[arg-type]

    def _write_traces(self, bodies: list[dict[str, Any]]) -> None:
        self._client.traces.log_trace_annotations(trace_annotations=bodies, sync=True)  # type: ignore[arg-type]
