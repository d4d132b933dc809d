"""Opik-, MLflow- and HoneyHive-shaped entry points on top of otel-feedback (docs/DESIGN.md §13).

Change only the import lines of code written for those SDKs::

    from otel_feedback.compat.opik import track, Opik
    import otel_feedback.compat.mlflow as mlflow
    from otel_feedback.compat.honeyhive import HoneyHiveTracer, trace, enrich_span

and the code records OpenTelemetry spans and feedback instead. When no SDK
``TracerProvider`` is set yet, the first use sets one up with
:func:`otel_feedback.configure` from the ``OTEL_*`` variables and flushes it when the
process exits. None of these SDKs is installed or imported.
"""
