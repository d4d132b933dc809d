"""flatten's fast path for plain input (``otel_feedback._plain``) equals the general walk.

Whenever the fast path answers, its attributes (keys, order, values and their types) and
size bound are exactly those of the general walk, and the general walk reports nothing on
that input; on anything else it gives up and the general walk runs.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_feedback import FlattenLimits, flatten
from otel_feedback.flatten import _plain_flat, _walked, flatten_measured
from otel_feedback.reporting import diagnostics, reset_diagnostics

PAYLOAD: dict[str, Any] = {  # the shape of benchmarks/workloads.py's P, and edge values
    "rating": 5,
    "notes": {"first": "Fine.", "steps": [{"ok": True}, {"ok": False, "why": "slow"}]},
    "labels": ["a", "b"],
    "scores": {"x": 0.5, "deep": {"y": -1.25}},
    "none": None,
    "empty": [],
    "flags": (True, False),
    "nan": math.nan,
}

SMALL = FlattenLimits(max_object_depth=3, max_array_depth=2, max_value_bytes=12)
"""Limits small enough that generated values often cross them."""


class Sub(dict[str, Any]):
    """A dict subclass: not plain."""


def typed(attributes: dict[str, Any]) -> list[tuple[str, type, Any]]:
    """Attributes in order with their value types (``True == 1`` must not pass)."""
    return [(key, type(value), repr(value)) for key, value in attributes.items()]


def assert_same_as_general(value: Any, prefix: str, limits: FlattenLimits | None) -> bool:
    """Check the fast path against the general walk; whether the fast path answered."""
    reset_diagnostics()
    plain = _plain_flat(value, prefix, limits)
    if plain is None:
        return False
    walk = _walked(value, prefix, limits)
    assert typed(plain[0]) == typed(walk.out)
    assert plain[1] == walk.size_bound()
    assert diagnostics() == {}
    return True


keys = st.one_of(
    st.text(alphabet="ab.é", max_size=3),
    st.sampled_from(["rating", "a", "0", "x" * 13]),
    st.integers(0, 2),
)
leaves = st.one_of(
    st.none(),
    st.text(alphabet="ab é\ud800", max_size=14),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(),
    st.sampled_from([2**63 - 1, -(2**63), 2**63, b"x", frozenset()]),
)
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(st.text(alphabet="ab", max_size=5), max_size=4),
        st.lists(st.integers(-3, 3), max_size=4),
        st.tuples(children, children),
        st.dictionaries(keys, children, max_size=4),
        st.lists(st.dictionaries(keys, children, max_size=3), min_size=1, max_size=3),
        st.builds(Sub, st.dictionaries(keys, children, max_size=2)),
    ),
    max_leaves=20,
)

plain_keys = st.text(alphabet="abc", min_size=1, max_size=2)
plain_values = st.recursive(
    st.one_of(
        st.none(),
        st.text(alphabet="ab é", max_size=14),  # past SMALL's 12 bytes at times
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(),
    ),
    lambda children: st.one_of(
        st.lists(st.text(alphabet="abé", max_size=4), max_size=4),
        st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=3),
        st.dictionaries(plain_keys, children, max_size=4),
        st.lists(st.dictionaries(plain_keys, children, max_size=3), min_size=1, max_size=3),
    ),
    max_leaves=12,
)
"""Mostly plain values, so the fast path answers often (and gives up at its edges)."""


@settings(max_examples=500, deadline=None)
@given(
    value=st.dictionaries(keys, values, max_size=5) | st.dictionaries(plain_keys, plain_values),
    prefix=st.sampled_from(["feedback", "", "metrics.x"]),
    limits=st.sampled_from([None, SMALL, FlattenLimits(0, 0, 4)]),
)
def test_fast_path_equals_general_walk(
    value: dict[str, Any], prefix: str, limits: FlattenLimits | None
) -> None:
    assert_same_as_general(value, prefix, limits)


@pytest.mark.parametrize("prefix", ["feedback", ""])
def test_fast_path_takes_the_usual_payload(prefix: str) -> None:
    assert assert_same_as_general(PAYLOAD, prefix, None)
    assert flatten(PAYLOAD, prefix) == _walked(PAYLOAD, prefix, None).out
    assert flatten_measured(PAYLOAD, prefix) == _plain_flat(PAYLOAD, prefix, None)


@pytest.mark.parametrize(
    "value",
    [
        {"a.b": 1},
        {"": 1},
        {1: 1},
        {"a": "\ud800"},
        {"a": "x" * 70_000},
        {"a": ["ok", "\ud800"]},
        {"a": list(range(9000))},
        {"a": 2**63},
        {"a": Sub(b=1)},
        {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}},
        {"a": [[[1]]]},
        {"a": [1, "x"]},
        {"a": [{"b": 1}, 2]},
        {"é": 1},
        {"a": b"bytes"},
    ],
)
def test_fast_path_gives_up_on_what_is_not_plain(value: dict[Any, Any]) -> None:
    assert _plain_flat(value, "feedback", None) is None


@pytest.mark.parametrize(
    "value",
    [
        {"a": "é"},
        {"a": "x" * 2000, "b": "ü" * 600},
        {"a": ["é", "b"], "n": list(range(200)), "t": ["x" * 700, "y" * 700]},
        {"a": "x" * 65_536},
    ],
)
def test_fast_path_measures_long_and_non_ascii_values(value: dict[str, Any]) -> None:
    assert assert_same_as_general(value, "feedback", None)


def test_fast_path_gives_up_on_a_cycle() -> None:
    looped: dict[str, Any] = {"a": 1}
    looped["self"] = looped
    assert _plain_flat(looped, "feedback", None) is None
    listed: list[Any] = []
    listed.append({"again": listed})
    assert _plain_flat({"l": listed}, "feedback", None) is None


def test_fast_path_takes_many_keys_longer_than_the_value_limit_together() -> None:
    # 3,000 leaves: the keys joined pass 64 KiB, each key is far within it.
    value: dict[str, Any] = {"scaling": {}}
    for index in range(3_000):
        value["scaling"].setdefault(f"group{index // 10}", {})[f"leaf{index % 10}"] = index
    assert len("".join(flatten(value, prefix="feedback"))) > FlattenLimits().max_value_bytes
    assert assert_same_as_general(value, "feedback", None)
