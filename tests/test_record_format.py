"""The identity and time formats of each feedback record (docs/DESIGN.md §3)."""

from __future__ import annotations

import datetime as dt
import uuid

from hypothesis import given
from hypothesis import strategies as st

from otel_feedback.record import build_feedback, iso_utc, new_feedback_id


def test_feedback_ids_are_distinct_uuid4_hex() -> None:
    ids = {new_feedback_id() for _ in range(2000)}
    assert len(ids) == 2000
    for feedback_id in list(ids)[:200]:
        parsed = uuid.UUID(hex=feedback_id)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert parsed.hex == feedback_id


@given(st.integers(min_value=0, max_value=253_402_300_799_999_999_999))
def test_iso_utc_matches_datetime(time_ns: int) -> None:
    seconds, nanoseconds = divmod(time_ns, 1_000_000_000)
    expected = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).replace(
        microsecond=nanoseconds // 1000
    )
    assert iso_utc(time_ns) == expected.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_record_carries_id_and_timestamp() -> None:
    given_at = dt.datetime(2026, 11, 23, 13, 14, 15, 123456, tzinfo=dt.timezone.utc)
    feedback = build_feedback("rating", 4, timestamp=given_at)
    assert feedback is not None
    assert feedback.event["feedback.timestamp"] == "2026-11-23T13:14:15.123456Z"
    assert feedback.event["feedback.id"] == feedback.feedback_id
    assert uuid.UUID(hex=feedback.feedback_id).version == 4
