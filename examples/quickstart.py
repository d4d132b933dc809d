"""Quick start: record nested feedback on a span and export it over OTLP."""

from opentelemetry import trace

import otel_feedback as fb

provider = fb.configure(service_name="quickstart")  # OTLP exporter from OTEL_* variables
tracer = trace.get_tracer("quickstart")

with fb.using_session("sess-1", user_id="u-42"), tracer.start_as_current_span("chat") as span:
    answer = "Paris is the capital of France."  # your LLM call goes here
    fb.enrich_span(feedback={"rating": 5, "comment": "clear", "step1": {"retry": True},
                             "edits": [{"value": "NY"}]})
    token = fb.current_feedback_token()  # hand this to the frontend with the answer

# Later, when the user clicks thumbs-up (in any process, long after the span ended):
fb.log_feedback("thumbs_up", True, target=token, source="HUMAN", reason="correct")

provider.shutdown()  # flush everything before the program exits
print("trace", format(span.get_span_context().trace_id, "032x"), "sent with feedback")
