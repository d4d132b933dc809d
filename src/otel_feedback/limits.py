"""Limits applied when nested feedback is flattened into attributes."""

from __future__ import annotations

from dataclasses import dataclass

from otel_feedback.settings import DEFAULT_MAX_VALUE_BYTES, Settings, get_settings


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

    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES
    """Largest value kept, in UTF-8 bytes: a longer string is truncated, an array loses its
    last items (8 bytes per number); keys longer than this are dropped."""

    def __post_init__(self) -> None:
        if self.max_object_depth < 0 or self.max_array_depth < 0:
            raise ValueError("FlattenLimits depths must be >= 0")
        if self.max_value_bytes < 1:
            raise ValueError("FlattenLimits.max_value_bytes must be >= 1")

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> FlattenLimits:
        """The limits in force (``OTEL_FEEDBACK_MAX_OBJECT_DEPTH`` / ``_ARRAY_DEPTH`` /
        ``_VALUE_BYTES``)."""
        global _in_force
        if settings is None:
            return in_force()
        cached = _in_force
        if cached is not None and cached[0] is settings:
            return cached[1]
        limits = cls(settings.max_object_depth, settings.max_array_depth, settings.max_value_bytes)
        _in_force = (settings, limits)
        return limits

    @classmethod
    def from_environment(cls) -> FlattenLimits:
        """The limits the environment sets now (unset or invalid: 5 and 2, logged)."""
        return cls.from_settings(Settings.from_environment())


_in_force: tuple[Settings, FlattenLimits] | None = None


def in_force() -> FlattenLimits:
    """The limits in force: ``FlattenLimits.from_settings()``, as one plain call for the
    hot path (a classmethod call costs a bound method), kept until the settings change."""
    settings = get_settings()
    cached = _in_force
    if cached is not None and cached[0] is settings:
        return cached[1]
    return FlattenLimits.from_settings(settings)


DEFAULT_LIMITS = FlattenLimits()
"""The default limits, 5 nested objects and 2 nested arrays (HoneyHive's)."""
