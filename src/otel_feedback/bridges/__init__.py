"""Feedback in the backends' native views (docs/DESIGN.md §12).

- :class:`otel_feedback.bridges.phoenix.PhoenixAnnotationExporter` (extra ``[phoenix]``):
  Phoenix span and trace annotations.
- :class:`otel_feedback.bridges.mlflow.MLflowAssessmentExporter` (extra ``[mlflow]``):
  MLflow assessments (feedback and expectations).

Both are OpenTelemetry span exporters that read the ``gen_ai.evaluation.result`` records in
the spans they are given; add each in its own ``BatchSpanProcessor`` beside the OTLP exporter
(or pass them to ``otel_feedback.configure(bridges=[...])``). Import the submodule you need:
this package imports neither client library.
"""
