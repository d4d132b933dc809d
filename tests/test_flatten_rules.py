"""docs/DESIGN.md §4 flattening rules: one test per rule, each asserting the exact attributes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import logging
import math
import sys
import uuid
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any, NamedTuple

import attrs
import pydantic
import pytest

import otel_feedback as fb
from otel_feedback import (
    CycleError,
    FeedbackError,
    FlattenError,
    FlattenLimits,
    KeyConflictError,
    flatten,
)

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


class Color(enum.Enum):
    RED = "red"
    TUPLE = (1, 2)


class Level(enum.IntEnum):
    HIGH = 3


class Mood(str, enum.Enum):
    HAPPY = "happy"


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "otel_feedback" and record.levelno == logging.WARNING
    ]


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing was reported: no warning on ``otel_feedback`` and no count."""
    assert warnings_logged(caplog) == []
    assert fb.diagnostics() == {}


# -- mappings and dotted keys ---------------------------------------------------------------


def test_mappings_become_dotted_paths(caplog: pytest.LogCaptureFixture) -> None:
    out = flatten({"step1": {"retry": True, "why": {"code": 7}}, "top": "t"}, prefix="feedback")
    assert out == {
        "feedback.step1.retry": True,
        "feedback.step1.why.code": 7,
        "feedback.top": "t",
    }
    assert_quiet(caplog)


def test_dotted_key_is_a_path() -> None:
    assert flatten({"a.b": 1}, prefix="feedback") == {"feedback.a.b": 1}
    assert flatten({"a.b": 1}, prefix="feedback") == flatten({"a": {"b": 1}}, prefix="feedback")


def test_dotted_keys_merge_with_siblings(caplog: pytest.LogCaptureFixture) -> None:
    value = {"a": {"x": 1}, "a.y": 2, "a.z.w": 3, "b": 4}
    assert flatten(value, prefix="feedback") == {
        "feedback.a.x": 1,
        "feedback.a.y": 2,
        "feedback.a.z.w": 3,
        "feedback.b": 4,
    }
    # The mapping given after the dotted key is merged in the same way.
    assert flatten({"a.y": 2, "a": {"x": 1}}, prefix="feedback") == {
        "feedback.a.y": 2,
        "feedback.a.x": 1,
    }
    assert_quiet(caplog)


def test_dotted_keys_inside_nested_mappings() -> None:
    assert flatten({"outer": {"in.ner": [1, 2]}}, prefix="p") == {"p.outer.in.ner": (1, 2)}


def test_prefix_empty_gives_bare_keys() -> None:
    assert flatten({"a": {"b": 1}, "c": [1]}) == {"a.b": 1, "c": (1,)}
    assert flatten({"a": {"b": 1}}, prefix="") == {"a.b": 1}


def test_dotted_prefix_is_used_verbatim() -> None:
    assert flatten({"x": 1}, prefix="gen_ai.feedback") == {"gen_ai.feedback.x": 1}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, {"p": 5}),
        ("text", {"p": "text"}),
        (True, {"p": True}),
        (2.5, {"p": 2.5}),
        ([1, 2], {"p": (1, 2)}),
        ((1, "a"), {"p.0": 1, "p.1": "a"}),
        (2**70, {"p": str(2**70)}),
        (float("nan"), {"p": "nan"}),
        (Color.RED, {"p": "red"}),
    ],
)
def test_non_mapping_value_is_stored_at_prefix(value: object, expected: dict[str, Any]) -> None:
    out = flatten(value, prefix="p")
    assert out == expected
    assert [type(item) for item in out.values()] == [type(item) for item in expected.values()]


def test_none_at_prefix_gives_nothing(caplog: pytest.LogCaptureFixture) -> None:
    assert flatten(None, prefix="p") == {}
    assert_quiet(caplog)


def test_mapping_like_objects_at_top_level_count_as_the_top_level_mapping() -> None:
    @dataclasses.dataclass
    class Top:
        rating: int
        deep: dict[str, Any]

    deep = {"a": {"b": {"c": {"d": {"e": 1}}}}}  # the values of deep, a, b, c, d: five objects
    expected = {"p.rating": 5, "p.deep.a.b.c.d.e": 1}
    assert flatten(Top(5, deep), prefix="p") == expected
    assert flatten({"rating": 5, "deep": deep}, prefix="p") == expected
    assert flatten(Top(5, deep)) == {"rating": 5, "deep.a.b.c.d.e": 1}
    assert fb.diagnostics() == {}


# -- lists ----------------------------------------------------------------------------------


def test_list_of_objects_becomes_indexed_keys() -> None:
    assert flatten({"edits": [{"value": "NY"}, {"value": "LA", "n": 2}]}, prefix="feedback") == {
        "feedback.edits.0.value": "NY",
        "feedback.edits.1.value": "LA",
        "feedback.edits.1.n": 2,
    }


def test_list_of_lists_becomes_indexed_keys_of_native_arrays() -> None:
    assert flatten({"m": [[1, 2], ["a"], []]}, prefix="p") == {
        "p.m.0": (1, 2),
        "p.m.1": ("a",),
        "p.m.2": (),
    }


def test_mixed_list_becomes_indexed_keys() -> None:
    assert flatten({"x": [1, "a", 2.5, True, {"k": "v"}, [3]]}, prefix="p") == {
        "p.x.0": 1,
        "p.x.1": "a",
        "p.x.2": 2.5,
        "p.x.3": True,
        "p.x.4.k": "v",
        "p.x.5": (3,),
    }


@pytest.mark.parametrize(
    "items",
    [["a", "b", ""], [True, False, True], [1, -2, 0, INT64_MAX, INT64_MIN], [1.5, -0.0, 1e300]],
)
def test_homogeneous_primitive_list_is_one_native_tuple(items: list[Any]) -> None:
    out = flatten({"l": items}, prefix="p")
    assert out == {"p.l": tuple(items)}
    assert type(out["p.l"]) is tuple
    assert [type(item) for item in out["p.l"]] == [type(item) for item in items]


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([True, 1], {"p.l.0": True, "p.l.1": 1}),
        ([1, True], {"p.l.0": 1, "p.l.1": True}),
        ([1, 1.0], {"p.l.0": 1, "p.l.1": 1.0}),
        ([1.0, 1], {"p.l.0": 1.0, "p.l.1": 1}),
        (["1", 1], {"p.l.0": "1", "p.l.1": 1}),
    ],
)
def test_bool_int_float_str_do_not_mix_into_one_array(
    items: list[Any], expected: dict[str, Any]
) -> None:
    out = flatten({"l": items}, prefix="p")
    assert out == expected
    # == alone would accept True for 1 and 1.0 for 1: check the types as well.
    assert {key: type(value) for key, value in out.items()} == {
        key: type(value) for key, value in expected.items()
    }


def test_list_with_out_of_range_int_or_non_finite_float_is_indexed() -> None:
    assert flatten({"l": [1, 2**63]}, prefix="p") == {"p.l.0": 1, "p.l.1": str(2**63)}
    assert flatten({"l": [1.0, math.inf]}, prefix="p") == {"p.l.0": 1.0, "p.l.1": "inf"}


def test_empty_list_is_empty_tuple() -> None:
    out = flatten({"l": [], "t": ()}, prefix="p")
    assert out == {"p.l": (), "p.t": ()}
    assert type(out["p.l"]) is tuple


def test_tuple_has_list_semantics() -> None:
    assert flatten({"t": (1, 2)}, prefix="p") == {"p.t": (1, 2)}
    assert flatten({"t": ({"a": 1}, (2,))}, prefix="p") == {"p.t.0.a": 1, "p.t.1": (2,)}
    assert flatten({"t": (1, 2)}, prefix="p") == flatten({"t": [1, 2]}, prefix="p")


def test_none_inside_list_is_omitted_keeping_indices(caplog: pytest.LogCaptureFixture) -> None:
    assert flatten({"l": [1, None, 2]}, prefix="p") == {"p.l.0": 1, "p.l.2": 2}
    assert flatten({"l": [None]}, prefix="p") == {}
    assert_quiet(caplog)


def test_none_value_is_omitted(caplog: pytest.LogCaptureFixture) -> None:
    assert flatten({"a": None, "b": {"c": None, "d": 1}}, prefix="p") == {"p.b.d": 1}
    assert_quiet(caplog)


# -- leaves ---------------------------------------------------------------------------------


@pytest.mark.parametrize("leaf", [True, False, 0, -7, 3.25, "", "text ünï"])
def test_primitive_leaves_are_kept_as_is(leaf: object) -> None:
    out = flatten({"v": leaf}, prefix="p")
    assert out == {"p.v": leaf}
    assert type(out["p.v"]) is type(leaf)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (INT64_MAX, INT64_MAX),
        (INT64_MIN, INT64_MIN),
        (2**63, "9223372036854775808"),
        (-(2**63) - 1, "-9223372036854775809"),
        (2**70, "1180591620717411303424"),
        (-(2**70), "-1180591620717411303424"),
    ],
)
def test_int64_bounds(number: int, expected: object) -> None:
    out = flatten({"n": number}, prefix="p")
    assert out == {"p.n": expected}
    assert type(out["p.n"]) is type(expected)


@pytest.mark.parametrize(
    ("number", "expected"),
    [(float("nan"), "nan"), (float("inf"), "inf"), (float("-inf"), "-inf")],
)
def test_non_finite_floats_become_strings(number: float, expected: str) -> None:
    assert flatten({"x": number}, prefix="p") == {"p.x": expected}


@pytest.mark.parametrize(
    ("member", "expected"),
    [(Color.RED, "red"), (Color.TUPLE, (1, 2)), (Level.HIGH, 3), (Mood.HAPPY, "happy")],
)
def test_enum_becomes_its_value(member: enum.Enum, expected: object) -> None:
    out = flatten({"e": member}, prefix="p")
    assert out == {"p.e": expected}
    assert type(out["p.e"]) is type(expected)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="enum.StrEnum is Python 3.11+")
def test_strenum_becomes_its_value() -> None:
    class Shade(enum.StrEnum):  # type: ignore[name-defined,misc,unused-ignore]
        DARK = "dark"

    out = flatten({"e": Shade.DARK}, prefix="p")
    assert out == {"p.e": "dark"}
    assert type(out["p.e"]) is str


def test_datetime_date_time_become_isoformat() -> None:
    out = flatten(
        {
            "at": dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone.utc),
            "naive": dt.datetime(2024, 5, 6, 7, 8, 9),
            "day": dt.date(2024, 5, 6),
            "clock": dt.time(7, 8, 9),
        },
        prefix="p",
    )
    assert out == {
        "p.at": "2024-05-06T07:08:09.123456+00:00",
        "p.naive": "2024-05-06T07:08:09",
        "p.day": "2024-05-06",
        "p.clock": "07:08:09",
    }


def test_uuid_decimal_path_become_str() -> None:
    out = flatten(
        {
            "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "price": Decimal("1.10"),
            "path": PurePosixPath("/tmp/a b/c.txt"),
        },
        prefix="p",
    )
    assert out == {
        "p.id": "12345678-1234-5678-1234-567812345678",
        "p.price": "1.10",
        "p.path": "/tmp/a b/c.txt",
    }


def test_bytes_utf8_become_text_else_base64() -> None:
    out = flatten(
        {
            "text": "héllo".encode(),
            "binary": b"\xff\x00\xfe",
            "array": bytearray(b"ok"),
            "view": memoryview(b"\x80"),
            "empty": b"",
        },
        prefix="p",
    )
    assert out == {
        "p.text": "héllo",
        "p.binary": "/wD+",
        "p.array": "ok",
        "p.view": "gA==",
        "p.empty": "",
    }


@dataclasses.dataclass
class Edit:
    field: str
    value: Any
    tags: list[str] = dataclasses.field(default_factory=list)


class Score(pydantic.BaseModel):
    name: str
    value: float
    at: dt.date
    edit: Edit | None = None


class Point(NamedTuple):
    x: int
    y: float


@attrs.define
class Judge:
    model: str
    votes: list[int]


def test_dataclass_becomes_mapping() -> None:
    assert flatten({"e": Edit("city", {"to": "NY"}, ["a", "b"])}, prefix="p") == {
        "p.e.field": "city",
        "p.e.value.to": "NY",
        "p.e.tags": ("a", "b"),
    }


def test_pydantic_v2_model_becomes_mapping() -> None:
    score = Score(name="q", value=0.5, at=dt.date(2024, 1, 2), edit=Edit("f", 1))
    assert flatten({"s": score}, prefix="p") == {
        "p.s.name": "q",
        "p.s.value": 0.5,
        "p.s.at": "2024-01-02",
        "p.s.edit.field": "f",
        "p.s.edit.value": 1,
        "p.s.edit.tags": (),
    }


def test_namedtuple_becomes_mapping() -> None:
    assert flatten({"pt": Point(1, 2.5), "pts": [Point(3, 4.0)]}, prefix="p") == {
        "p.pt.x": 1,
        "p.pt.y": 2.5,
        "p.pts.0.x": 3,
        "p.pts.0.y": 4.0,
    }


def test_attrs_class_becomes_mapping() -> None:
    assert flatten({"j": Judge("gpt", [1, 0])}, prefix="p") == {
        "p.j.model": "gpt",
        "p.j.votes": (1, 0),
    }


def test_sets_become_sorted_lists() -> None:
    out = flatten({"s": {3, 1, 2}, "f": frozenset({"b", "c", "a"}), "e": set()}, prefix="p")
    assert out == {"p.s": (1, 2, 3), "p.f": ("a", "b", "c"), "p.e": ()}


def test_nested_conversions_compose() -> None:
    value = {"x": [Color.RED, Level.HIGH], "y": {Point(1, 2.0)}}
    assert flatten(value, prefix="p") == {
        "p.x.0": "red",
        "p.x.1": 3,
        "p.y.0.x": 1,
        "p.y.0.y": 2.0,
    }


def test_non_str_keys_use_str(caplog: pytest.LogCaptureFixture) -> None:
    out = flatten({1: "int", (2, 3): "tuple", False: "bool", None: "none"}, prefix="p")
    assert out == {"p.1": "int", "p.(2, 3)": "tuple", "p.False": "bool", "p.None": "none"}
    assert_quiet(caplog)


# -- depth limits ---------------------------------------------------------------------------


def nest(keys: str, leaf: object) -> Any:
    """``nest("abc", 1)`` is ``{"a": {"b": {"c": 1}}}``."""
    value = leaf
    for key in reversed(keys):
        value = {key: value}
    return value


def test_five_nested_objects_are_flattened(caplog: pytest.LogCaptureFixture) -> None:
    assert flatten(nest("abcdef", 1), prefix="feedback") == {"feedback.a.b.c.d.e.f": 1}
    assert_quiet(caplog)


def test_sixth_nested_object_is_a_json_string() -> None:
    out = flatten(nest("abcdefg", 1), prefix="feedback")
    assert out == {"feedback.a.b.c.d.e.f": '{"g":1}'}
    assert fb.diagnostics() == {"depth_limit": 1}


def test_eight_levels_keep_everything_below_level_five_as_one_json_string() -> None:
    def level(number: int) -> dict[str, Any]:
        node: dict[str, Any] = {"n": number, "tags": ["x", str(number)]}
        if number < 8:
            node["child"] = level(number + 1)
            node["list"] = [{"i": number}, None, 2.5]
        return node

    value = {"root": level(1), "sibling": 0}
    out = flatten(value, prefix="feedback")

    fifth = "feedback.root.child.child.child.child"  # the fifth nested object
    below = f"{fifth}.child"  # the sixth: kept whole as JSON
    assert set(out) == {
        "feedback.sibling",
        *(
            f"feedback.root{'.child' * depth}.{leaf}"
            for depth in range(5)
            for leaf in ("n", "tags", "list.2")
        ),
        *(f"feedback.root{'.child' * depth}.list.0.i" for depth in range(4)),
        f"{fifth}.list.0",  # the object in the fifth object's list is a sixth object too
        below,
    }
    assert out["feedback.sibling"] == 0
    assert out["feedback.root.n"] == 1
    assert out["feedback.root.child.child.n"] == 3
    assert out["feedback.root.child.child.tags"] == ("x", "3")
    assert out["feedback.root.child.child.child.list.0.i"] == 4
    assert out["feedback.root.child.child.child.list.2"] == 2.5
    assert out[f"{fifth}.n"] == 5
    assert out[f"{fifth}.list.0"] == '{"i":5}'
    text = out[below]
    assert isinstance(text, str)
    assert ": " not in text  # compact separators
    assert ", " not in text
    assert json.loads(text) == level(6)  # nothing is lost, None included
    assert fb.diagnostics() == {"depth_limit": 2}


def test_two_nested_arrays_are_within_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    assert flatten({"m": [[1], [2]]}, prefix="feedback") == {
        "feedback.m.0": (1,),
        "feedback.m.1": (2,),
    }
    assert_quiet(caplog)


def test_third_nested_array_is_a_json_string() -> None:
    assert flatten({"m": [[[1]]]}, prefix="feedback") == {"feedback.m.0.0": "[1]"}
    assert fb.diagnostics() == {"depth_limit": 1}


def test_array_depth_counts_arrays_on_the_whole_path() -> None:
    value = {"m": [{"x": [[1, {"k": None}], "s"]}]}
    assert flatten(value, prefix="p") == {"p.m.0.x.0": '[1,{"k":null}]', "p.m.0.x.1": "s"}


def test_json_string_converts_leaves_like_attributes() -> None:
    deep = {
        "big": 2**70,
        "nan": math.nan,
        "when": dt.date(2024, 1, 2),
        "e": Color.RED,
        "b": b"\xff",
        "t": (1, 2),
        "s": {2, 1},
        "u": "ü",
    }
    out = flatten({"a": {"b": {"c": {"d": {"e": {"f": deep}}}}}}, prefix="p")
    text = out["p.a.b.c.d.e.f"]
    assert isinstance(text, str)
    assert "ü" in text  # not ASCII-escaped
    assert json.loads(text) == {
        "big": str(2**70),
        "nan": "nan",
        "when": "2024-01-02",
        "e": "red",
        "b": "/w==",
        "t": [1, 2],
        "s": [1, 2],
        "u": "ü",
    }


def test_object_depth_limit_is_configurable() -> None:
    assert flatten(nest("abc", 1), prefix="p", limits=FlattenLimits(max_object_depth=1)) == {
        "p.a.b": '{"c":1}'
    }
    assert flatten(nest("ab", 1), prefix="p", limits=FlattenLimits(max_object_depth=1)) == {
        "p.a.b": 1
    }
    assert flatten(nest("ab", 1), prefix="p", limits=FlattenLimits(max_object_depth=0)) == {
        "p.a": '{"b":1}'
    }
    assert flatten(nest("abcdefgh", 1), prefix="p", limits=FlattenLimits(max_object_depth=8)) == {
        "p.a.b.c.d.e.f.g.h": 1
    }


def test_array_depth_limit_is_configurable() -> None:
    assert flatten({"m": [1]}, prefix="p", limits=FlattenLimits(max_array_depth=0)) == {
        "p.m": "[1]"
    }
    assert flatten({"m": [[1]]}, prefix="p", limits=FlattenLimits(max_array_depth=1)) == {
        "p.m.0": "[1]"
    }
    assert flatten({"m": [[[1]]]}, prefix="p", limits=FlattenLimits(max_array_depth=3)) == {
        "p.m.0.0": (1,)
    }


def test_flatten_limits_defaults_frozen_and_validated() -> None:
    assert FlattenLimits() == FlattenLimits(max_object_depth=5, max_array_depth=2)
    assert FlattenLimits() == fb.DEFAULT_LIMITS
    limits = FlattenLimits(max_object_depth=3, max_array_depth=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.max_object_depth = 9  # type: ignore[misc]
    with pytest.raises(ValueError, match=">= 0"):
        FlattenLimits(max_object_depth=-1)
    with pytest.raises(ValueError, match=">= 0"):
        FlattenLimits(max_array_depth=-1)


# -- cycles ---------------------------------------------------------------------------------


def test_cycle_in_dict_is_omitted_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    value: dict[str, Any] = {"a": 1}
    value["self"] = value
    assert flatten(value, prefix="p") == {"p.a": 1}
    assert fb.diagnostics() == {"cycle": 1}
    assert warnings_logged(caplog) == [
        "cycle: 'p.self' refers to an object that contains it; reference omitted"
    ]
    with pytest.raises(CycleError):
        flatten(value, prefix="p", strict=True)


def test_cycle_in_list_is_omitted_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    items: list[Any] = [1, "x"]
    items.append(items)
    assert flatten({"l": items}, prefix="p") == {"p.l.0": 1, "p.l.1": "x"}
    assert fb.diagnostics() == {"cycle": 1}
    assert len(warnings_logged(caplog)) == 1
    assert "'p.l.2'" in warnings_logged(caplog)[0]
    with pytest.raises(CycleError):
        flatten({"l": items}, prefix="p", strict=True)


@dataclasses.dataclass
class Node:
    name: str
    child: Any = None


def test_cycle_in_dataclass_is_omitted_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    node = Node("n")
    node.child = node
    assert flatten({"node": node}, prefix="p") == {"p.node.name": "n"}
    assert flatten(node, prefix="p") == {"p.name": "n"}
    assert fb.diagnostics() == {"cycle": 2}
    assert len(warnings_logged(caplog)) == 2
    with pytest.raises(CycleError):
        flatten({"node": node}, prefix="p", strict=True)


def test_shared_reference_is_not_a_cycle(caplog: pytest.LogCaptureFixture) -> None:
    shared = {"v": 1}
    items = [1, 2]
    assert flatten({"a": shared, "b": shared, "c": [items, items]}, prefix="p") == {
        "p.a.v": 1,
        "p.b.v": 1,
        "p.c.0": (1, 2),
        "p.c.1": (1, 2),
    }
    assert_quiet(caplog)


def test_cycle_through_a_dotted_key_is_detected() -> None:
    value: dict[str, Any] = {"x": 1}
    value["a"] = value
    value["a.y"] = 2
    assert flatten(value, prefix="p") == {"p.x": 1, "p.a.y": 2}
    assert fb.diagnostics() == {"cycle": 1}

    fb.reset_diagnostics()
    other: dict[str, Any] = {"a.b": 1}
    other["a"] = other
    assert flatten(other, prefix="p") == {"p.a.b": 1}
    assert fb.diagnostics() == {"cycle": 1}
    with pytest.raises(CycleError):
        flatten(other, prefix="p", strict=True)


def test_cycle_closing_at_the_object_limit_is_omitted() -> None:
    value: dict[str, Any] = {"a": {"b": {"c": {"d": {"e": {"k": 1}}}}}}
    value["a"]["b"]["c"]["d"]["e"]["back"] = value  # would be the sixth object
    assert flatten(value, prefix="p") == {"p.a.b.c.d.e.k": 1}
    assert fb.diagnostics() == {"cycle": 1}
    with pytest.raises(CycleError, match=r"p\.a\.b\.c\.d\.e\.back"):
        flatten(value, prefix="p", strict=True)


def test_cycle_inside_json_overflow_is_omitted() -> None:
    loop: dict[str, Any] = {"k": 1}
    loop["again"] = loop
    out = flatten({"m": [[[loop]]]}, prefix="p")
    assert out == {"p.m.0.0": '[{"k":1}]'}
    assert fb.diagnostics() == {"cycle": 1, "depth_limit": 1}


# -- conflicts ------------------------------------------------------------------------------


def test_conflict_duplicate_key_later_wins(caplog: pytest.LogCaptureFixture) -> None:
    assert flatten({1: "x", "1": "y"}, prefix="p") == {"p.1": "y"}
    assert flatten({"1": "y", 1: "x"}, prefix="p") == {"p.1": "x"}
    assert fb.diagnostics() == {"key_conflict": 2}
    assert warnings_logged(caplog) == [
        "key_conflict: key 'p.1' is given twice; the later entry wins",
        "key_conflict: key 'p.1' is given twice; the later entry wins",
    ]


def test_conflict_dotted_key_and_nested_mapping_later_wins() -> None:
    assert flatten({"a": {"b": 1}, "a.b": 2}, prefix="p") == {"p.a.b": 2}
    assert flatten({"a.b": 2, "a": {"b": 1}}, prefix="p") == {"p.a.b": 1}
    assert fb.diagnostics() == {"key_conflict": 2}


def test_conflict_leaf_then_parent_parent_wins(caplog: pytest.LogCaptureFixture) -> None:
    assert flatten({"a": 1, "a.b": 2}, prefix="p") == {"p.a.b": 2}
    assert fb.diagnostics() == {"key_conflict": 1}
    assert len(warnings_logged(caplog)) == 1
    assert "'p.a'" in warnings_logged(caplog)[0]
    assert flatten({"a": {"b": 2}, "a.c": 3, "a.b.z": 4}, prefix="p") == {
        "p.a.c": 3,
        "p.a.b.z": 4,
    }
    assert fb.diagnostics() == {"key_conflict": 2}


def test_conflict_parent_then_leaf_leaf_wins(caplog: pytest.LogCaptureFixture) -> None:
    assert flatten({"a.b": 2, "a": 1}, prefix="p") == {"p.a": 1}
    assert flatten({"a": {"b": {"z": 4}}, "a.b": 3}, prefix="p") == {"p.a.b": 3}
    assert fb.diagnostics() == {"key_conflict": 2}
    assert len(warnings_logged(caplog)) == 2


@pytest.mark.parametrize(
    "value",
    [{1: "x", "1": "y"}, {"a": {"b": 1}, "a.b": 2}, {"a": 1, "a.b": 2}, {"a.b": 2, "a": 1}],
)
def test_conflict_strict_raises_key_conflict_error(value: dict[Any, Any]) -> None:
    with pytest.raises(KeyConflictError, match="later entry wins"):
        flatten(value, prefix="p", strict=True)


def test_conflict_is_deterministic() -> None:
    value = {"a": {"b": 1, "c": [1]}, "a.b": {"x": 1}, "a.c.0": 5, 2: 1, "2": 2}
    outputs = {tuple(flatten(value, prefix="p").items()) for _ in range(5)}
    assert outputs == {(("p.a.b.x", 1), ("p.a.c.0", 5), ("p.2", 2))}


def test_error_hierarchy() -> None:
    for error in (CycleError, KeyConflictError, fb.InvalidKeyError, fb.UnsupportedValueError):
        assert issubclass(error, FlattenError)
        assert issubclass(error, FeedbackError)
