"""``honeyhive.models``: the event types of ``@trace(event_type=...)``."""

from __future__ import annotations

from enum import Enum


class EventType(str, Enum):
    """HoneyHive event types; each becomes an ``openinference.span.kind``."""

    session = "session"
    model = "model"
    tool = "tool"
    chain = "chain"


__all__ = ["EventType"]
