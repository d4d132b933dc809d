"""HoneyHive-style enrichment: enrich_session for the session, enrich_span for one step.

The same calls as HoneyHive's SDK, written to OpenTelemetry attributes:
``feedback.*``, ``metrics.*``, ``metadata.*`` and ``user_properties.*``.
"""

from opentelemetry import trace

import otel_feedback as fb

provider = fb.configure(service_name="honeyhive-style")
tracer = trace.get_tracer("honeyhive-style")

with fb.using_session("support-chat-31", user_id="customer-9"), tracer.start_as_current_span(
    "support_chat"
):
    fb.enrich_session(metadata={"channel": "web", "experiment": "prompt-v2"},
                      user_properties={"plan": "pro", "region": "eu"})
    with tracer.start_as_current_span("retrieve"):
        fb.enrich_span(metrics={"retrieval": {"hits": 4, "mrr": 0.5}})
    with tracer.start_as_current_span("generate"):
        fb.enrich_span(
            feedback={"rating": 4, "comment": "good but long", "step1": {"retry": True},
                      "edits": [{"field": "city", "value": "NY"}],
                      "ground_truth": "New York"},
            metrics={"latency_ok": True, "judge": {"relevance": 0.92}},
        )
    fb.enrich_session(feedback={"liked": True, "resolved": True})  # updates, never overwrites

provider.shutdown()
print("honeyhive-style session sent")
