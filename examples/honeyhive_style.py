"""HoneyHive code on OpenTelemetry: the code of HoneyHive's documentation, only the imports
changed.

``HoneyHiveTracer.init`` sets up OpenTelemetry from the ``OTEL_*`` variables (the API key is
not needed) and starts a session: every traced call carries ``session.id``. ``enrich_span`` /
``enrich_session`` write ``feedback.*``, ``metrics.*``, ``metadata.*``, ``user_properties.*``
and ``config.*`` attributes; the session's are on the root span of the trace.
"""

from otel_feedback.compat.honeyhive import HoneyHiveTracer, enrich_session, enrich_span, trace

HoneyHiveTracer.init(
    api_key="not-needed", project="honeyhive-style", session_name="support-chat"
)


@trace(event_type="tool")
def retrieve(question: str) -> list[str]:
    enrich_span(metrics={"retrieval": {"hits": 4, "mrr": 0.5}})
    return ["New York is the largest city in the US."]


@trace(event_type="model", config={"model": "gpt-4o-mini", "temperature": 0.2})
def generate(question: str, documents: list[str]) -> str:
    enrich_span(
        feedback={"rating": 4, "comment": "good but long", "step1": {"retry": True},
                  "edits": [{"field": "city", "value": "NY"}],
                  "ground_truth": "New York"},
        metrics={"latency_ok": True, "judge": {"relevance": 0.92}},
    )
    return "New York"


@trace
def support_chat(question: str) -> str:
    enrich_session(metadata={"channel": "web", "experiment": "prompt-v2"},
                   user_properties={"plan": "pro", "region": "eu"})
    answer = generate(question, retrieve(question))
    enrich_session(feedback={"liked": True, "resolved": True})  # updates, never overwrites
    return answer


support_chat("Which US city is the largest?")
print("honeyhive-style session sent")
