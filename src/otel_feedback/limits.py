"""Limits applied when nested feedback is flattened into attributes."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

OBJECT_DEPTH_ENV = "OTEL_FEEDBACK_MAX_OBJECT_DEPTH"
ARRAY_DEPTH_ENV = "OTEL_FEEDBACK_MAX_ARRAY_DEPTH"
_OBJECT_DEPTH, _ARRAY_DEPTH = 5, 2


@dataclass(frozen=True, slots=True)
class FlattenLimits:
    """How deep nested objects and arrays may go before the rest is kept as JSON.

    Depths are counted below the top-level mapping passed to :func:`otel_feedback.flatten`:
    in ``{"a": {"b": 1}}`` the value of ``a`` is the first nested object.
    """

    max_object_depth: int = _OBJECT_DEPTH
    """Nested mappings allowed on any path; a deeper mapping is kept as a JSON string."""

    max_array_depth: int = _ARRAY_DEPTH
    """Nested sequences allowed on any path; a deeper sequence is kept as a JSON string."""

    def __post_init__(self) -> None:
        if self.max_object_depth < 0 or self.max_array_depth < 0:
            raise ValueError("FlattenLimits depths must be >= 0")


    @classmethod
    def from_environment(cls) -> FlattenLimits:
        """Limits from ``OTEL_FEEDBACK_MAX_OBJECT_DEPTH`` / ``OTEL_FEEDBACK_MAX_ARRAY_DEPTH``.

        Unset or invalid values (logged) keep the defaults of 5 and 2.
        """
        return cls(
            max_object_depth=_depth(OBJECT_DEPTH_ENV, _OBJECT_DEPTH),
            max_array_depth=_depth(ARRAY_DEPTH_ENV, _ARRAY_DEPTH),
        )


def _depth(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        logging.getLogger("otel_feedback").warning(
            "%s=%r is not a whole number >= 0; using %d", name, raw, default
        )
        return default
    return value


DEFAULT_LIMITS = FlattenLimits.from_environment()
"""The limits every helper uses: the defaults, or the environment's when set at import."""
