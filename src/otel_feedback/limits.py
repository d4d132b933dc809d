"""Limits applied when nested feedback is flattened into attributes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FlattenLimits:
    """How deep nested objects and arrays may go before the rest is kept as JSON.

    Depths are counted below the top-level mapping passed to :func:`otel_feedback.flatten`:
    in ``{"a": {"b": 1}}`` the value of ``a`` is the first nested object.
    """

    max_object_depth: int = 5
    """Nested mappings allowed on any path; a deeper mapping is kept as a JSON string."""

    max_array_depth: int = 2
    """Nested sequences allowed on any path; a deeper sequence is kept as a JSON string."""

    def __post_init__(self) -> None:
        if self.max_object_depth < 0 or self.max_array_depth < 0:
            raise ValueError("FlattenLimits depths must be >= 0")


DEFAULT_LIMITS = FlattenLimits()
