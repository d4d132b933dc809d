"""Opik's API on OpenTelemetry: ``from otel_feedback.compat.opik import track, Opik``.

Change ``opik`` to ``otel_feedback.compat.opik`` in the imports of code written for Opik:

- ``@track`` traces calls as spans (OpenInference ``input.value`` / ``output.value``,
  ``openinference.span.kind`` from ``type``, ``tag.tags``, ``metadata.*``);
- ``opik_context.get_current_span()`` / ``get_current_trace()`` with ``update(...)`` and
  ``log_feedback_score(name, value, reason=, category_name=)``;
- ``Opik()``: ``trace(...)``, ``trace.span(...)``, ``end()``, ``log_traces_feedback_scores``,
  ``log_spans_feedback_scores``, ``log_threads_feedback_scores`` and ``flush()``.

Trace ids are OpenTelemetry's, 32 hex digits (Opik's dashed UUID form is accepted too); span
ids are 16 hex digits. Feedback scores are ``gen_ai.evaluation.result`` records with
``category_name`` as the label.
"""

from __future__ import annotations

from typing import Any

from otel_feedback.compat._runtime import ensure_provider
from otel_feedback.compat.opik import opik_context, types
from otel_feedback.compat.opik._client import Opik
from otel_feedback.compat.opik._objects import Span, Trace
from otel_feedback.compat.opik._track import flush_tracker, track

__all__ = [
    "Opik",
    "Span",
    "Trace",
    "configure",
    "flush_tracker",
    "opik_context",
    "track",
    "types",
]


def configure(
    api_key: str | None = None,
    workspace: str | None = None,
    url: str | None = None,
    use_local: bool = False,
    force: bool = False,
    **ignored: Any,
) -> None:
    """Opik's ``opik.configure(...)``: sets up OpenTelemetry from ``OTEL_*`` if needed; the
    Opik account settings are ignored."""
    del api_key, workspace, url, use_local, force, ignored
    ensure_provider()
