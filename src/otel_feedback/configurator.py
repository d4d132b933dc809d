"""Zero-code setup: the ``opentelemetry_configurator`` entry point named ``otel_feedback``.

``OTEL_PYTHON_CONFIGURATOR=otel_feedback opentelemetry-instrument python app.py`` runs an app
that never configures OpenTelemetry: the SDK sets itself up from the standard ``OTEL_*``
variables (exporters, sampler, resource, propagators), exactly as without us, and
:class:`~otel_feedback.FeedbackSpanProcessor` is added to its tracer provider, so
``enrich_span``, ``log_feedback`` and tokens work in that app unchanged.
"""

from __future__ import annotations

from typing import Any

from otel_feedback import _sdk
from otel_feedback.processor import FeedbackSpanProcessor

_Base: Any = _sdk.sdk_configurator_base()


class FeedbackConfigurator(_Base):  # type: ignore[misc]
    """The SDK's configurator, plus a :class:`FeedbackSpanProcessor` first in line."""

    def _configure(self, **kwargs: Any) -> None:
        processors = [FeedbackSpanProcessor(), *(kwargs.pop("span_processors", None) or ())]
        super()._configure(span_processors=processors, **kwargs)
