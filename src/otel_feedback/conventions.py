"""Every name otel-feedback puts on the wire or reads from the environment (docs/DESIGN.md §3).

Attribute keys, the event and span names, the instrumentation scope and the
``OTEL_FEEDBACK_*`` variables are defined here and nowhere else, so a backend, a query or a
dashboard can rely on this one page. Names users and backends depend on are normative.
"""

from __future__ import annotations

VERSION = "0.1.0"
"""The package version; also the version of the instrumentation scope below."""

SCOPE_NAME = "otel_feedback"
"""Instrumentation scope (and logger name) of everything otel-feedback emits itself."""

# -- state on spans ------------------------------------------------------------------------

FEEDBACK = "feedback"
"""Namespace of end-user feedback: ``feedback.<path>``."""
METRICS = "metrics"
"""Namespace of evaluator results: ``metrics.<path>``."""
METADATA = "metadata"
"""Namespace of context the user attaches: ``metadata.<path>``."""
USER_PROPERTIES = "user_properties"
"""Namespace of user properties: ``user_properties.<path>``."""
NAMESPACES = (FEEDBACK, METRICS, METADATA, USER_PROPERTIES)
"""Attribute namespaces ``enrich_span`` / ``enrich_session`` write."""

GROUND_TRUTH = "feedback.ground_truth"
"""Reserved for the expected output."""

SESSION_ID = "session.id"
"""Attribute (OTel semantic conventions) holding the session id."""
USER_ID = "user.id"
"""Attribute (OTel semantic conventions) holding the user id."""

# -- the record of each feedback: event ``gen_ai.evaluation.result`` ---------------------------

EVENT_NAME = "gen_ai.evaluation.result"
"""Span event (and log record ``event_name``) recording each feedback."""

EVALUATION_NAME = "gen_ai.evaluation.name"
"""The feedback name."""
SCORE_VALUE = "gen_ai.evaluation.score.value"
"""Float score, when the value is a number or a bool (true = 1.0)."""
SCORE_LABEL = "gen_ai.evaluation.score.label"
"""The label given, else ``"true"``/``"false"`` for bools, else the string value."""
EXPLANATION = "gen_ai.evaluation.explanation"
"""The reason, if any."""

FEEDBACK_ID = "feedback.id"
"""Unique id (UUID4 hex) of one feedback: the idempotency key for at-least-once delivery."""
FEEDBACK_VALUE = "feedback.value"
"""The original typed value; nested values as ``feedback.value.<path>``."""
SOURCE_TYPE = "feedback.source.type"
"""``HUMAN``, ``LLM_JUDGE`` or ``CODE``."""
SOURCE_ID = "feedback.source.id"
"""Who or what gave the feedback (``web_ui``, a user id, a judge model)."""
KIND = "feedback.kind"
"""``explicit`` or ``implicit``."""
TIMESTAMP = "feedback.timestamp"
"""When the feedback was given (ISO 8601, UTC)."""
METADATA_PREFIX = "feedback.metadata"
"""A record's own metadata, in the event: ``feedback.metadata.<path>``."""
ERROR_TYPE = "error.type"
"""OTel semantic convention: why an evaluation failed (a judge error), instead of a score."""
FEEDBACK_ERROR = "feedback.error"
"""A human-readable message of that failure."""

SOURCE_TYPES = ("HUMAN", "LLM_JUDGE", "CODE")
"""Accepted ``feedback.source.type`` values (input is case-insensitive)."""
SOURCE_TYPE_ALIASES = {"AI_JUDGE": "LLM_JUDGE", "LLM": "LLM_JUDGE"}
"""Other spellings read as one of :data:`SOURCE_TYPES` (MLflow's legacy ``AI_JUDGE``)."""
KINDS = ("explicit", "implicit")
"""Accepted ``feedback.kind`` values."""

# -- late feedback ---------------------------------------------------------------------------

FEEDBACK_SPAN_NAME = "feedback"
"""Name of the spans that carry late feedback (low cardinality: always this)."""
LATE_SPAN_RECORD_KEYS = (
    EVALUATION_NAME,
    EXPLANATION,
    FEEDBACK_ID,
    SOURCE_TYPE,
    SOURCE_ID,
    KIND,
)
"""Record fields a late ``feedback`` span also carries as its own attributes, beside
``feedback.<name>`` and ``feedback.timestamp``, so a tag search finds it ("every thumbs_up
from web_ui"). They describe the record, not the rated span: measuring tools skip them."""
RECORD_KEYS = (*LATE_SPAN_RECORD_KEYS, TIMESTAMP)
"""Keys under ``feedback.`` (and ``gen_ai.evaluation.``) that describe a record, not a field."""

# -- OpenInference annotations (spec/annotations.md in Arize-ai/openinference) ----------------

ANNOTATIONS = "annotations"
"""Prefix of OpenInference annotation attributes: ``annotations.<i>.annotation.<field>``."""
ANNOTATION_FIELDS = (
    "name",
    "score",
    "label",
    "explanation",
    "annotator_kind",
    "identifier",
    "metadata",
)
"""The fields of one OpenInference annotation."""
ANNOTATOR_KINDS = {"HUMAN": "HUMAN", "LLM_JUDGE": "LLM", "CODE": "CODE"}
"""Our source types as OpenInference ``annotator_kind`` values."""


def annotation_key(index: int, field: str) -> str:
    """``annotations.<index>.annotation.<field>``."""
    return f"{ANNOTATIONS}.{index}.annotation.{field}"


# -- OpenInference context keys and attributes read or written ---------------------------------

OPENINFERENCE_SESSION_KEY = SESSION_ID
"""OpenInference keeps ``using_session`` / ``using_user`` ids in the context under the plain
attribute names; otel-feedback reads them too."""
OPENINFERENCE_USER_KEY = USER_ID
OPENINFERENCE_INPUT_VALUE = "input.value"
"""OpenInference: the input of an operation, as text or JSON."""
OPENINFERENCE_OUTPUT_VALUE = "output.value"
"""OpenInference: the output of an operation, as text or JSON."""

# -- the feedback endpoint (otel_feedback.web) --------------------------------------------------

WEB_SOURCE_ID = "web_ui"
"""``feedback.source.id`` of every record the feedback endpoint logs."""
WEB_FEEDBACK_PATH = "/feedback"
"""Where the endpoint takes ``POST`` requests, relative to where it is mounted."""
WEB_SCRIPT_PATH = "/feedback.js"
"""Where the endpoint serves its browser client, relative to where it is mounted."""

# -- compat modules (otel_feedback.compat: Opik-, MLflow- and HoneyHive-shaped entry points) --

OPENINFERENCE_SPAN_KIND = "openinference.span.kind"
"""OpenInference span kind (``LLM``, ``CHAIN``, ``TOOL``, ...) from Opik/MLflow/HoneyHive types."""
OPENINFERENCE_INPUT_MIME_TYPE = "input.mime_type"
"""``text/plain`` or ``application/json``: how to read ``input.value``."""
OPENINFERENCE_OUTPUT_MIME_TYPE = "output.mime_type"
"""``text/plain`` or ``application/json``: how to read ``output.value``."""
OPENINFERENCE_TAGS = "tag.tags"
"""OpenInference tags: a list of strings (Opik's ``tags``)."""
CONFIG = "config"
"""Namespace of configuration a HoneyHive-style ``enrich_*`` call attaches: ``config.<path>``."""
LLM_MODEL_NAME = "llm.model_name"
"""OpenInference: the model an LLM span called (Opik's ``model``)."""
LLM_PROVIDER = "llm.provider"
"""OpenInference: the LLM provider (Opik's ``provider``)."""
LLM_TOKEN_COUNT_PROMPT = "llm.token_count.prompt"
LLM_TOKEN_COUNT_COMPLETION = "llm.token_count.completion"
LLM_TOKEN_COUNT_TOTAL = "llm.token_count.total"
LLM_COST_TOTAL = "llm.cost.total"
"""OpenInference: token counts and cost of an LLM span (Opik's ``usage`` / ``total_cost``)."""
COMPAT_SCOPE_PREFIX = "otel_feedback.compat"
"""Instrumentation scope of spans the compat modules start: ``otel_feedback.compat.<sdk>``."""

# -- feedback metrics (otel_feedback.metrics) -------------------------------------------------

METRIC_SCORE = "feedback.score"
"""Histogram (unit ``1``) of every numeric or boolean feedback value (true = 1, false = 0)."""
METRIC_RECORDS = "feedback.records"
"""Counter (unit ``{record}``) of every feedback record, scored or not."""
METRIC_SCORE_BOUNDARIES = (
    0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0,
    1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0,
)
"""Explicit bucket boundaries of :data:`METRIC_SCORE`: fine for scores in [0, 1], half steps
for ratings up to 5, whole steps up to 10 (an advisory: a View may override it)."""
METRIC_SPAN_ATTRIBUTES = ("gen_ai.request.model", "gen_ai.provider.name", "gen_ai.operation.name")
"""The rated span's attributes copied onto the metrics by default (low cardinality)."""
METRIC_BOOL_LABELS = ("true", "false")
"""Labels always kept as a metric attribute (those of boolean feedback)."""
ENV_METRICS_SPAN_ATTRIBUTES = "OTEL_FEEDBACK_METRICS_SPAN_ATTRIBUTES"
"""Comma-separated rated-span attributes copied onto feedback metrics (default
:data:`METRIC_SPAN_ATTRIBUTES`; empty: none)."""
ENV_METRICS_LABELS = "OTEL_FEEDBACK_METRICS_LABELS"
"""Comma-separated labels (besides ``true``/``false``) kept as a metric attribute."""

# -- environment variables (read by otel_feedback.settings, and only there) -------------------

ENV_STRICT = "OTEL_FEEDBACK_STRICT"
"""``true`` turns on strict mode: typed errors instead of log-and-count."""
ENV_TOKEN_SECRET = "OTEL_FEEDBACK_TOKEN_SECRET"
"""Secret(s) signing feedback tokens; several separated by commas: the first signs, all verify."""
ENV_TOKEN_MAX_AGE = "OTEL_FEEDBACK_TOKEN_MAX_AGE"
"""Seconds a feedback token stays valid where ages are checked (the endpoint); default 30 days."""
ENV_MAX_OBJECT_DEPTH = "OTEL_FEEDBACK_MAX_OBJECT_DEPTH"
"""Nested mappings allowed on a path before the rest is kept as JSON (default 5)."""
ENV_MAX_ARRAY_DEPTH = "OTEL_FEEDBACK_MAX_ARRAY_DEPTH"
"""Nested lists allowed on a path before the rest is kept as JSON (default 2)."""
ENV_MAX_VALUE_BYTES = "OTEL_FEEDBACK_MAX_VALUE_BYTES"
"""Largest string value kept, in UTF-8 bytes; longer ones are truncated."""
ENV_MAX_RECORD_BYTES = "OTEL_FEEDBACK_MAX_RECORD_BYTES"
"""Largest total size of one call's attributes, in bytes; past it, the rest is refused."""
ENV_MAX_KEYS = "OTEL_FEEDBACK_MAX_KEYS"
"""Most attributes one call may produce; past it, the rest is refused."""
ENV_OUTBOX = "OTEL_FEEDBACK_OUTBOX"
"""Path of the SQLite outbox for durable delivery of late feedback (off when unset)."""
ENV_OUTBOX_MAX_RECORDS = "OTEL_FEEDBACK_OUTBOX_MAX_RECORDS"
"""Most records the outbox holds (default 100 000); past it, new records are refused."""
ENV_OUTBOX_MAX_BYTES = "OTEL_FEEDBACK_OUTBOX_MAX_BYTES"
"""Most bytes of stored spans the outbox holds (default 256 MiB); past it, new records are
refused."""
ENV_OUTBOX_SYNC = "OTEL_FEEDBACK_OUTBOX_SYNC"
"""``normal`` (default: a commit survives the process being killed) or ``full`` (a commit is
fsynced, and survives power loss too) — SQLite's ``synchronous`` in WAL mode."""
ENV_IDENTITY_FROM_BAGGAGE = "OTEL_FEEDBACK_IDENTITY_FROM_BAGGAGE"
"""``true`` copies W3C baggage ``session.id`` / ``user.id`` onto spans (off by default)."""

# -- scoring (otel_feedback.scoring) ------------------------------------------------------------

GENAI_INPUT_MESSAGES = "gen_ai.input.messages"
"""OTel GenAI: the chat history sent to the model (JSON string, or structured)."""
GENAI_OUTPUT_MESSAGES = "gen_ai.output.messages"
"""OTel GenAI: the messages the model returned (JSON string, or structured)."""
GENAI_REQUEST_MODEL = "gen_ai.request.model"
"""OTel GenAI: the model asked; a judge's span carries it."""
OPENINFERENCE_INPUT_MESSAGES = "llm.input_messages"
"""OpenInference: prefix of flattened input messages (``llm.input_messages.<i>.message.*``)."""
OPENINFERENCE_OUTPUT_MESSAGES = "llm.output_messages"
"""OpenInference: prefix of flattened output messages (``llm.output_messages.<i>.message.*``)."""
OPENINFERENCE_RETRIEVAL_DOCUMENTS = "retrieval.documents"
"""OpenInference: prefix of retrieved documents (``retrieval.documents.<i>.document.content``)."""
OUTPUT_LOGPROBS = "llm.output_logprobs"
"""Token log-probabilities of the output (float array), read by ``scoring.Perplexity``.
Neither OpenInference nor the GenAI conventions name one; this is ours."""
EVALUATION_ITEM_SPAN_NAME = "evaluation.item"
"""Span name of one item of an offline ``scoring.evaluate`` run (one trace per item)."""
EVALUATION_NAME_KEY = "metadata.evaluation.name"
"""On an ``evaluation.item`` span: the name of the run."""
EVALUATION_RUN_ID = "metadata.evaluation.run_id"
"""On an ``evaluation.item`` span: the id of the run (UUID4 hex), to group by."""
EVALUATION_ITEM_INDEX = "metadata.evaluation.item"
"""On an ``evaluation.item`` span: the item's position in the run."""

ENV_JUDGE_MODEL = "OTEL_FEEDBACK_JUDGE_MODEL"
"""Model an LLM judge asks when no ``model=`` is given (default ``gpt-4o-mini``)."""
