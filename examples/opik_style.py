"""Opik code on OpenTelemetry: the code of Opik's documentation, only the imports changed.

No OpenTelemetry setup: the first traced call sets it up from the ``OTEL_*`` variables
(``OTEL_EXPORTER_OTLP_ENDPOINT``, ...) and everything is exported when the process exits.
"""

from otel_feedback.compat.opik import Opik, opik_context, track

ids = {}


@track(type="llm")
def llm(question: str) -> str:
    ids["llm_span"] = opik_context.get_current_span().id
    return "Paris"


@track(name="qa", tags=["geography"], metadata={"prompt": "v2"})
def qa(question: str) -> str:
    answer = llm(question)
    ids["trace"] = opik_context.get_current_trace().id
    opik_context.update_current_trace(thread_id="conversation-7")
    opik_context.get_current_span().log_feedback_score(
        "answer_length_ok", 1.0, reason="short answer"
    )
    return answer


qa("What is the capital of France?")

# Later, evaluators score the trace and its LLM span by id (the spans have ended by now).
client = Opik(project_name="opik-style")
client.log_traces_feedback_scores([
    {"id": ids["trace"], "name": "coherence", "value": 0.75, "reason": "mostly consistent"},
    {"id": ids["trace"], "name": "hallucination", "value": 0.0},
])
client.log_spans_feedback_scores([
    {"id": ids["llm_span"], "name": "quality", "value": 0.8, "category_name": "good"},
])
client.log_threads_feedback_scores([
    {"id": "conversation-7", "name": "user_satisfied", "value": 1.0, "reason": "said thanks"},
])
client.flush()
print("opik-style scores sent for trace", ids["trace"])
