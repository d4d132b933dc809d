"""Opik-style batches: score traces and spans after they ended, by id."""

from opentelemetry import trace

import otel_feedback as fb

provider = fb.configure(service_name="opik-style")
tracer = trace.get_tracer("opik-style")

with tracer.start_as_current_span("qa") as root, tracer.start_as_current_span("llm") as llm:
    pass  # the application ran; the spans have ended by the time evaluators score them

trace_id = format(root.get_span_context().trace_id, "032x")
span_id = format(llm.get_span_context().span_id, "016x")

fb.log_traces_feedback_scores([
    {"id": trace_id, "name": "coherence", "value": 0.75, "reason": "mostly consistent"},
    {"id": trace_id, "name": "hallucination", "value": 0.0, "source": "LLM_JUDGE"},
])
fb.log_spans_feedback_scores([
    {"id": span_id, "trace_id": trace_id, "name": "quality", "value": 0.8,
     "category_name": "good", "source": "CODE"},
])

provider.shutdown()
print("opik-style scores sent for trace", trace_id)
