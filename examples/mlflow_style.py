"""MLflow-style assessments: log_feedback with HUMAN, LLM_JUDGE and CODE sources.

MLflow's ``log_feedback`` / ``log_expectation`` map onto ``log_feedback`` with a source
type and id; an expectation is the reserved ``ground_truth`` feedback.
"""

from opentelemetry import trace

import otel_feedback as fb

provider = fb.configure(service_name="mlflow-style")
tracer = trace.get_tracer("mlflow-style")

with tracer.start_as_current_span("predict") as span:
    answer = "MLflow is an open source MLOps platform."
    token = fb.current_feedback_token()

fb.log_feedback("is_correct", True, target=token, source="HUMAN", source_id="reviewer@example.com",
                reason="matches the docs")
fb.log_feedback("relevance", 0.9, target=token, source="LLM_JUDGE", source_id="judge-model-v1",
                label="relevant", reason="answers the question asked")
fb.log_feedback("length_ok", len(answer) < 200, target=token, source="CODE",
                source_id="checks.length")
fb.log_feedback("ground_truth", "MLflow is an open source platform for the ML lifecycle.",
                target=token, source="HUMAN", source_id="reviewer@example.com")

provider.shutdown()
print("mlflow-style assessments sent for trace", format(span.get_span_context().trace_id, "032x"))
