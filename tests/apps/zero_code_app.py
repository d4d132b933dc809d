"""A service that never configures OpenTelemetry: run it under ``opentelemetry-instrument``.

It handles one "request" whose headers (``traceparent``, ``baggage``) come from the
environment, extracting them the way a web framework instrumentation does, and records
feedback with otel-feedback's helpers. Prints the feedback id it got.
"""

import json
import os

from opentelemetry import context, propagate, trace

import otel_feedback as fb

tracer = trace.get_tracer("zero-code-app")
headers = json.loads(os.environ["APP_HEADERS"])

# What a web framework instrumentation does with an incoming request: attach the extracted
# context (trace parent and baggage), then start the server span in it.
token = context.attach(propagate.extract(headers))
try:
    with (
        tracer.start_as_current_span("handle", kind=trace.SpanKind.SERVER),
        tracer.start_as_current_span("llm"),
    ):
        fb.enrich_span(feedback={"grounded": True})
        fb.enrich_session(feedback={"liked": True})
        feedback_id = fb.log_feedback("thumbs_up", True, source_id="web_ui")
finally:
    context.detach(token)
print(json.dumps({"feedback_id": feedback_id, "diagnostics": fb.diagnostics()}))
