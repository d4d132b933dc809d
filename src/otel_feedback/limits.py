"""Limits applied when nested feedback is flattened into attributes."""

from __future__ import annotations

from dataclasses import dataclass

from otel_feedback.settings import Settings, get_settings


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

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> FlattenLimits:
        """The limits in force (``OTEL_FEEDBACK_MAX_OBJECT_DEPTH`` / ``_ARRAY_DEPTH``)."""
        global _in_force
        chosen = settings if settings is not None else get_settings()
        cached = _in_force
        if cached is not None and cached[0] is chosen:
            return cached[1]
        limits = cls(chosen.max_object_depth, chosen.max_array_depth)
        _in_force = (chosen, limits)
        return limits

    @classmethod
    def from_environment(cls) -> FlattenLimits:
        """The limits the environment sets now (unset or invalid: 5 and 2, logged)."""
        return cls.from_settings(Settings.from_environment())


_in_force: tuple[Settings, FlattenLimits] | None = None

DEFAULT_LIMITS = FlattenLimits()
"""The default limits, 5 nested objects and 2 nested arrays (HoneyHive's)."""
