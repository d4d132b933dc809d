"""Reading what to score from a finished span's attributes.

Two conventions are understood: OpenInference (``input.value``, ``output.value``,
``llm.input_messages.<i>.message.*``, ``llm.output_messages.<i>.message.*``,
``retrieval.documents.<i>.document.content``) and the OTel GenAI conventions
(``gen_ai.input.messages`` / ``gen_ai.output.messages``, JSON text or structured values).
The expected output is ``feedback.ground_truth`` when the span has one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from otel_feedback import conventions as names
from otel_feedback.scoring.base import Fields

_INDEXED = re.compile(r"^(\d+)\.(.+)$")

IO_KEYS = frozenset(
    {
        names.OPENINFERENCE_OUTPUT_VALUE,
        names.GENAI_OUTPUT_MESSAGES,
        names.OPENINFERENCE_INPUT_VALUE,
        names.GENAI_INPUT_MESSAGES,
        f"{names.OPENINFERENCE_OUTPUT_MESSAGES}.0.message.content",
        f"{names.OPENINFERENCE_INPUT_MESSAGES}.0.message.content",
    }
)
"""A span holding one of these has something to score (the default online filter)."""


def has_io(attributes: Mapping[str, Any] | None) -> bool:
    """True when the attributes hold an input or output in a known convention."""
    return bool(attributes) and not IO_KEYS.isdisjoint(attributes or ())


def fields_of(attributes: Mapping[str, Any] | None) -> Fields:
    """Input, output, context, expected output and logprobs found in ``attributes``."""
    attributes = attributes or {}
    output = attributes.get(names.OPENINFERENCE_OUTPUT_VALUE)
    if output is None:
        output = _message_text(attributes.get(names.GENAI_OUTPUT_MESSAGES), role=None)
    if output is None:
        output = _indexed_message_text(attributes, names.OPENINFERENCE_OUTPUT_MESSAGES, None)
    input_ = attributes.get(names.OPENINFERENCE_INPUT_VALUE)
    if input_ is None:
        input_ = _message_text(attributes.get(names.GENAI_INPUT_MESSAGES), role="user")
    if input_ is None:
        input_ = _indexed_message_text(attributes, names.OPENINFERENCE_INPUT_MESSAGES, "user")
    documents = _indexed(attributes, names.OPENINFERENCE_RETRIEVAL_DOCUMENTS)
    context = [
        str(document["document.content"])
        for document in documents
        if document.get("document.content") is not None
    ] or None
    logprobs = attributes.get(names.OUTPUT_LOGPROBS)
    return Fields(
        output=output,
        expected=attributes.get(names.GROUND_TRUTH),
        input=input_,
        context=context,
        logprobs=list(logprobs) if isinstance(logprobs, (tuple, list)) else logprobs,
    )


def _indexed(attributes: Mapping[str, Any], prefix: str) -> list[dict[str, Any]]:
    """``prefix.<i>.<rest>`` keys as a list of ``{rest: value}`` in index order."""
    start = prefix + "."
    found: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        if not key.startswith(start):
            continue
        match = _INDEXED.match(key[len(start) :])
        if match:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [found[index] for index in sorted(found)]


def _indexed_message_text(
    attributes: Mapping[str, Any], prefix: str, role: str | None
) -> str | None:
    messages = [
        {"role": item.get("message.role"), "content": item.get("message.content")}
        for item in _indexed(attributes, prefix)
    ]
    return _pick(messages, role)


def _message_text(raw: Any, role: str | None) -> str | None:
    """Text of GenAI messages (``[{"role", "parts": [{"type": "text", "content"}]}]``)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return str(raw)  # not JSON: take the text as it is
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        return None
    messages = []
    for message in raw:
        if not isinstance(message, Mapping):
            continue
        messages.append({"role": message.get("role"), "content": _content(message)})
    return _pick(messages, role)


def _content(message: Mapping[str, Any]) -> str | None:
    parts = message.get("parts")
    if isinstance(parts, Sequence) and not isinstance(parts, (str, bytes)):
        texts = [
            str(part.get("content"))
            for part in parts
            if isinstance(part, Mapping)
            and part.get("type", "text") == "text"
            and part.get("content") is not None
        ]
        return "\n".join(texts) if texts else None
    content = message.get("content")
    return str(content) if isinstance(content, str) else None


def _pick(messages: list[dict[str, Any]], role: str | None) -> str | None:
    """The last message of ``role`` with text (any role when ``None``, then the first)."""
    with_text = [message for message in messages if message.get("content")]
    if not with_text:
        return None
    if role is None:
        return str(with_text[0]["content"])
    of_role = [message for message in with_text if message.get("role") == role]
    return str((of_role or with_text)[-1]["content"])
