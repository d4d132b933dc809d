"""Late feedback from another process: the backend hands out a token, the "frontend" rates.

Run it as it is: the backend part answers a question inside a span and ends it; then a
second process, with its own TracerProvider, sends feedback for that span by token. The
feedback arrives as a zero-duration ``feedback`` span nested under the answer's span.
"""

from __future__ import annotations

import subprocess
import sys

from opentelemetry import trace

import otel_feedback as fb


def backend() -> str:
    """Answer inside a span; return the feedback token sent along with the answer."""
    tracer = trace.get_tracer("late-feedback-backend")
    with fb.using_session("sess-late", user_id="u-7"), tracer.start_as_current_span("answer"):
        return fb.current_feedback_token() or ""


def frontend(token: str) -> None:
    """Another process, any time later: the user rates the answer and corrects it."""
    provider = fb.configure(service_name="late-feedback-frontend")
    fb.log_feedback("user_rating", 2, target=token, source="HUMAN", source_id="web_ui",
                    reason="wrong city")
    fb.log_feedback("correction", {"city": "Lyon", "confidence": 0.9}, target=token,
                    source="HUMAN", kind="explicit")
    fb.log_feedback("copied", True, target=token, kind="implicit")
    provider.shutdown()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--frontend":
        frontend(sys.argv[2])
        print("frontend: 3 feedback records sent")
    else:
        provider = fb.configure(service_name="late-feedback-backend")
        token = backend()
        provider.shutdown()
        print("backend: answered; token", token)
        subprocess.run([sys.executable, __file__, "--frontend", token], check=True)
