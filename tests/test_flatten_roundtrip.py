"""``unflatten``, the HoneyHive example, and the properties of docs/DESIGN.md §4.

* The law: ``unflatten(flatten(x, prefix="feedback"), prefix="feedback") == x`` for JSON-like
  ``x`` within the limits (keys non-empty, dot-free, not all digits; no empty mapping; no None).
* Whatever the input, ``flatten`` output is valid OpenTelemetry attributes and, in the default
  mode, ``flatten`` never raises.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import otel_feedback as fb
from otel_feedback import FlattenLimits, KeyConflictError, flatten, unflatten

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


# -- the HoneyHive example ------------------------------------------------------------------


def test_honeyhive_example_exact_keys_and_values(caplog: pytest.LogCaptureFixture) -> None:
    comment = "Great answer, but the city was wrong."
    out = fb.flatten(
        {"rating": 5, "comment": comment, "step1": {"retry": True}, "edits": [{"value": "NY"}]},
        prefix="feedback",
    )
    assert out == {
        "feedback.rating": 5,
        "feedback.comment": comment,
        "feedback.step1.retry": True,
        "feedback.edits.0.value": "NY",
    }
    assert type(out["feedback.rating"]) is int
    assert out["feedback.step1.retry"] is True
    assert [r for r in caplog.records if r.name == "otel_feedback"] == []


def test_design_one_liners() -> None:
    assert fb.flatten({"edits": [{"value": "NY"}]}, prefix="feedback") == {
        "feedback.edits.0.value": "NY"
    }
    assert fb.flatten({"step1": {"retry": True}}, prefix="feedback") == {
        "feedback.step1.retry": True
    }


# -- unflatten ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        {"rating": 5, "comment": "ok", "step1": {"retry": True}, "edits": [{"value": "NY"}]},
        {"m": [[1], [2]], "tags": ["a", "b"], "none": []},
        {"mixed": [1, "a", 2.5, False, {"k": [True]}], "f": -0.0},
        {"a": {"b": {"c": {"d": {"e": {"f": "deepest"}}}}}},
        {"lists": [[], [1.5], ["x", "y"]], "s": ""},
    ],
)
def test_unflatten_inverts_flatten_on_examples(value: dict[str, Any]) -> None:
    flat = flatten(value, prefix="feedback")
    assert same(unflatten(flat, prefix="feedback"), value)
    assert same(unflatten(flatten(value)), value)  # bare keys, prefix ""


def test_unflatten_ignores_other_namespaces() -> None:
    attributes = {
        "feedback.rating": 5,
        "feedback.step1.retry": True,
        "feedbackish.x": 1,
        "metrics.score": 0.5,
        "feedback": "bare prefix is not a child",
        "session.id": "s",
    }
    assert unflatten(attributes, prefix="feedback") == {"rating": 5, "step1": {"retry": True}}
    assert unflatten(attributes, prefix="metrics") == {"score": 0.5}
    assert unflatten(attributes, prefix="nothing") == {}


def test_unflatten_turns_arrays_into_lists() -> None:
    out = unflatten({"p.t": (1, 2), "p.e": (), "p.l": ["a"]}, prefix="p")
    assert out == {"t": [1, 2], "e": [], "l": ["a"]}
    assert [type(item) for item in out.values()] == [list, list, list]


def test_unflatten_turns_contiguous_indices_into_lists() -> None:
    out = unflatten(
        {"p.x.1.v": "b", "p.x.0.v": "a", "p.y.0": (1,), "p.y.1": (2,), "p.z.0.0.k": 1},
        prefix="p",
    )
    assert out == {"x": [{"v": "a"}, {"v": "b"}], "y": [[1], [2]], "z": [[{"k": 1}]]}


def test_unflatten_keeps_non_contiguous_digit_keys_as_a_dict() -> None:
    assert unflatten({"p.l.0": 1, "p.l.2": 2}, prefix="p") == {"l": {"0": 1, "2": 2}}
    assert unflatten({"p.l.1": 1}, prefix="p") == {"l": {"1": 1}}
    assert unflatten({"p.l.0": 1, "p.l.x": 2}, prefix="p") == {"l": {"0": 1, "x": 2}}
    # what flatten makes of a list holding None
    assert unflatten(flatten({"l": [1, None, 2]}, prefix="p"), prefix="p") == {
        "l": {"0": 1, "2": 2}
    }


@pytest.mark.parametrize(
    "attributes",
    [{"p.a": 1, "p.a.b": 2}, {"p.a.b": 2, "p.a": 1}],
    ids=["leaf-first", "parent-first"],
)
def test_unflatten_leaf_parent_conflict_keeps_mapping(
    attributes: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    assert unflatten(attributes, prefix="p") == {"a": {"b": 2}}
    assert fb.diagnostics() == {"key_conflict": 1}
    messages = [r.getMessage() for r in caplog.records if r.name == "otel_feedback"]
    assert len(messages) == 1
    assert "'p.a" in messages[0]
    with pytest.raises(KeyConflictError):
        unflatten(attributes, prefix="p", strict=True)


def test_unflatten_without_prefix_takes_every_key() -> None:
    assert unflatten({"a.b": 1, "c": (True,)}) == {"a": {"b": 1}, "c": [True]}


# -- the law, property-tested ---------------------------------------------------------------


def same(left: Any, right: Any) -> bool:
    """Equality that tells ``True``, ``1`` and ``1.0`` apart, and lists from tuples."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    return bool(left == right)


def test_same_is_type_aware() -> None:
    assert same({"a": [1, 2.0, True]}, {"a": [1, 2.0, True]})
    assert not same(1, True)
    assert not same(1, 1.0)
    assert not same([1], (1,))
    assert not same({"a": 1}, {"a": 1, "b": 2})


keys = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="."),
    min_size=1,
    max_size=8,
).filter(lambda key: not key.isdigit())

scalars = st.one_of(
    st.text(max_size=10),
    st.booleans(),
    st.integers(min_value=INT64_MIN, max_value=INT64_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
)


def json_like(objects: int, arrays: int) -> st.SearchStrategy[Any]:
    """Values holding at most ``objects`` more nested mappings and ``arrays`` more lists."""
    options: list[st.SearchStrategy[Any]] = [scalars]
    if arrays > 0:
        options.append(st.lists(json_like(objects, arrays - 1), max_size=4))
        options.append(st.lists(scalars, max_size=4))  # homogeneous arrays more often
        options.append(st.lists(st.booleans() | st.integers(-2, 2), max_size=4))  # bool/int mix
    if objects > 0:
        options.append(mappings(objects - 1, arrays))
    return st.one_of(options)


def mappings(objects: int, arrays: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(keys, json_like(objects, arrays), min_size=1, max_size=4)


within_limits = mappings(5, 2)


@settings(max_examples=300, deadline=None)
@given(within_limits)
def test_law_unflatten_inverts_flatten(value: dict[str, Any]) -> None:
    flat = flatten(value, prefix="feedback", strict=True)  # within the limits nothing to report
    assert same(unflatten(flat, prefix="feedback", strict=True), value)


@settings(max_examples=100, deadline=None)
@given(mappings(3, 1))
def test_law_holds_for_configured_limits(value: dict[str, Any]) -> None:
    limits = FlattenLimits(max_object_depth=3, max_array_depth=1)
    flat = flatten(value, prefix="m", limits=limits, strict=True)
    assert same(unflatten(flat, prefix="m", strict=True), value)


# -- flatten output is always valid OTel attributes -----------------------------------------


class Tone(enum.Enum):
    WARM = "warm"
    COLD = 0


@dataclasses.dataclass
class Box:
    content: Any


class Weird:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


anything_scalar = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),  # NaN and infinities included
    st.binary(max_size=6),
    st.sampled_from([Tone.WARM, Tone.COLD, object]),
    st.builds(Weird),
    st.datetimes(),
    st.decimals(),
    st.uuids(),
    st.frozensets(st.integers(-3, 3), max_size=3),
)
anything_key = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["", ".", "a..b", "a.b", ".x", "0", "1"]),
    st.integers(-3, 3),
    st.tuples(st.integers(0, 2), st.text(max_size=2)),
    st.sampled_from([Tone.WARM, None, 1.5, True]),
)
primitive_mixes = st.lists(  # lists that look homogeneous but are not: bool/int/float/big int
    st.one_of(
        st.booleans(),
        st.integers(-2, 2),
        st.sampled_from([0.0, 1.0, 2**63, -(2**63) - 1, math.nan]),
    ),
    min_size=1,
    max_size=4,
)
anything = st.recursive(
    anything_scalar | primitive_mixes,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(anything_key, children, max_size=4),
        st.builds(Box, children),
    ),
    max_leaves=40,
)


def is_valid_scalar(value: Any) -> bool:
    if type(value) is int:
        return INT64_MIN <= value <= INT64_MAX
    if type(value) is float:
        return math.isfinite(value)
    return type(value) in (str, bool)


def is_valid_attribute(value: Any) -> bool:
    if type(value) is tuple:
        kinds = {type(item) for item in value}
        return len(kinds) <= 1 and all(is_valid_scalar(item) for item in value)
    return is_valid_scalar(value)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=anything, prefix=st.sampled_from(["feedback", "metrics.x"]))
def test_flatten_output_is_always_valid_attributes(
    value: Any, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.CRITICAL, logger="otel_feedback"):  # keep the log small
        out = flatten(value, prefix=prefix)  # default mode: must not raise
    for key, item in out.items():
        assert isinstance(key, str)
        assert key == prefix or key.startswith(prefix + ".")
        assert all(key.split(".")), f"empty path segment in {key!r}"
        assert is_valid_attribute(item), (key, item)


@settings(max_examples=100, deadline=None)
@given(anything)
def test_flatten_is_deterministic(value: Any) -> None:
    logging.getLogger("otel_feedback").disabled = True
    try:
        first = flatten(value, prefix="feedback")
        second = flatten(value, prefix="feedback")
    finally:
        logging.getLogger("otel_feedback").disabled = False
    assert list(first) == list(second)
    assert all(same_attribute(first[key], second[key]) for key in first)


def same_attribute(left: Any, right: Any) -> bool:
    if type(left) is tuple and type(right) is tuple:
        return len(left) == len(right) and all(map(same_attribute, left, right))
    return type(left) is type(right) and left == right


def test_rich_values_flatten_to_valid_attributes() -> None:
    value = {
        "when": dt.datetime(2024, 1, 1),
        "d": Decimal("1.5"),
        "box": Box(Box([Tone.COLD, b"\xff"])),
        "set": frozenset({"b", "a"}),
    }
    assert flatten(value, prefix="p") == {
        "p.when": "2024-01-01T00:00:00",
        "p.d": "1.5",
        "p.box.content.content.0": 0,
        "p.box.content.content.1": "/w==",
        "p.set": ("a", "b"),
    }
