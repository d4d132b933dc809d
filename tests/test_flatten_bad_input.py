"""Bad and awkward inputs to ``flatten``: one test each.

Inputs that the rules cannot represent faithfully (cycles, containers beyond the depth limits,
empty keys, keys or values without a ``str()``, unknown objects) are, in the default mode,
repaired or dropped, logged on the ``otel_feedback`` logger and counted; in strict mode (the
argument, or ``OTEL_FEEDBACK_STRICT=true``) they raise the typed error. Inputs that docs/DESIGN.md
§4 converts by rule (big ints, non-finite floats, ``None``, dotted and non-str keys, bytes,
datetimes, models, ...) are converted exactly, silently, and the same in strict mode.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

import pydantic
import pytest

import otel_feedback
import otel_feedback as fb
from otel_feedback import flatten
from otel_feedback.errors import (
    CycleError,
    FeedbackError,
    FlattenError,
    InvalidKeyError,
    UnsupportedValueError,
)

Flatten = Callable[..., dict[str, Any]]


@pytest.fixture(params=["argument", "environment"])
def strict_flatten(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Flatten:
    """``flatten`` in strict mode, switched on by the argument or by the environment."""
    if request.param == "argument":
        return lambda value, prefix="feedback": flatten(value, prefix, strict=True)

    def from_environment(value: Any, prefix: str = "feedback") -> dict[str, Any]:
        monkeypatch.setenv("OTEL_FEEDBACK_STRICT", "true")
        otel_feedback.reload_settings()
        try:
            return flatten(value, prefix)
        finally:
            monkeypatch.delenv("OTEL_FEEDBACK_STRICT")
            otel_feedback.reload_settings()

    return from_environment


def reported(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Warnings logged on ``otel_feedback``."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "otel_feedback" and record.levelno == logging.WARNING
    ]


def assert_reported(caplog: pytest.LogCaptureFixture, problem: str, times: int = 1) -> None:
    messages = reported(caplog)
    assert len(messages) == times, messages
    assert all(message.startswith(f"{problem}: ") for message in messages), messages
    assert fb.diagnostics() == {problem: times}


def assert_clean_conversion(
    caplog: pytest.LogCaptureFixture, strict_flatten: Flatten, value: Any, expected: Any
) -> None:
    """Converted exactly, nothing reported, and strict mode agrees."""
    out = flatten(value, prefix="feedback")
    assert out == expected
    assert {k: type(v) for k, v in out.items()} == {k: type(v) for k, v in expected.items()}
    assert reported(caplog) == []
    assert fb.diagnostics() == {}
    assert strict_flatten(value) == expected


# -- cycles ---------------------------------------------------------------------------------


def test_cycle_dict(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    value: dict[str, Any] = {"a": 1, "b": {"c": 2}}
    value["b"]["up"] = value
    assert flatten(value, prefix="feedback") == {"feedback.a": 1, "feedback.b.c": 2}
    assert_reported(caplog, "cycle")
    assert "'feedback.b.up'" in reported(caplog)[0]
    with pytest.raises(CycleError, match=r"feedback\.b\.up"):
        strict_flatten(value)


def test_cycle_list(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    inner: list[Any] = ["x"]
    outer = [inner, 1]
    inner.append(outer)
    assert flatten({"l": outer}, prefix="feedback") == {
        "feedback.l.0.0": "x",
        "feedback.l.1": 1,
    }
    assert_reported(caplog, "cycle")
    with pytest.raises(CycleError):
        strict_flatten({"l": outer})


def test_cycle_dataclass(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    @dataclasses.dataclass
    class Turn:
        text: str
        previous: Any = None

    first = Turn("hi")
    second = Turn("there", first)
    first.previous = second
    assert flatten({"turn": first}, prefix="feedback") == {
        "feedback.turn.text": "hi",
        "feedback.turn.previous.text": "there",
    }
    assert_reported(caplog, "cycle")
    with pytest.raises(CycleError):
        strict_flatten({"turn": first})


# -- depth ----------------------------------------------------------------------------------


def eight_levels() -> dict[str, Any]:
    value: Any = {"leaf": "end", "n": [1, 2]}
    for key in "hgfedcba":
        value = {key: value, f"{key}_here": key}
    return value  # type: ignore[no-any-return]


def test_eight_level_nesting(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    value = eight_levels()
    out = flatten(value, prefix="feedback")
    assert out == {
        "feedback.a_here": "a",
        "feedback.a.b_here": "b",
        "feedback.a.b.c_here": "c",
        "feedback.a.b.c.d_here": "d",
        "feedback.a.b.c.d.e_here": "e",
        "feedback.a.b.c.d.e.f_here": "f",
        "feedback.a.b.c.d.e.f": '{"g":{"h":{"leaf":"end","n":[1,2]},"h_here":"h"},"g_here":"g"}',
    }
    text = out["feedback.a.b.c.d.e.f"]
    assert isinstance(text, str)
    assert json.loads(text) == value["a"]["b"]["c"]["d"]["e"]["f"]
    assert_reported(caplog, "depth_limit")
    assert "'feedback.a.b.c.d.e.f'" in reported(caplog)[0]
    with pytest.raises(FlattenError, match="depth limit"):
        strict_flatten(value)


def test_three_level_arrays(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    value = {"m": [[[1, 2], ["a"]], [[True]], 5]}
    assert flatten(value, prefix="feedback") == {
        "feedback.m.0.0": "[1,2]",
        "feedback.m.0.1": '["a"]',
        "feedback.m.1.0": "[true]",
        "feedback.m.2": 5,
    }
    assert_reported(caplog, "depth_limit", 3)
    with pytest.raises(FlattenError, match="depth limit"):
        strict_flatten(value)


def test_deeper_than_recursion_limit(
    caplog: pytest.LogCaptureFixture, strict_flatten: Flatten
) -> None:
    deep: Any = 1
    for _ in range(20_000):
        deep = {"x": deep}
    value = {"deep": deep, "after": 1}
    assert flatten(value, prefix="feedback") == {"feedback.after": 1}
    assert_reported(caplog, "too_deep")
    with pytest.raises(FlattenError, match="recursion limit"):
        strict_flatten(value)


# -- numbers and None -----------------------------------------------------------------------


def test_int_2_pow_70(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(
        caplog, strict_flatten, {"n": 2**70}, {"feedback.n": "1180591620717411303424"}
    )


def test_int64_min(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(caplog, strict_flatten, {"n": -(2**63)}, {"feedback.n": -(2**63)})
    assert_clean_conversion(
        caplog, strict_flatten, {"n": -(2**63) - 1}, {"feedback.n": "-9223372036854775809"}
    )


def test_nan_and_infinities(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(
        caplog,
        strict_flatten,
        {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf"), "l": [float("nan")]},
        {
            "feedback.nan": "nan",
            "feedback.inf": "inf",
            "feedback.ninf": "-inf",
            "feedback.l.0": "nan",
        },
    )


def test_none_inside_lists(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(
        caplog,
        strict_flatten,
        {"l": [None, 1, None, 2, None], "s": ["a", None]},
        {"feedback.l.1": 1, "feedback.l.3": 2, "feedback.s.0": "a"},
    )


# -- keys -----------------------------------------------------------------------------------


def test_keys_with_dots(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(
        caplog,
        strict_flatten,
        {"a.b": 1, "a": {"c": 2}, "x.y.z": [1]},
        {"feedback.a.b": 1, "feedback.a.c": 2, "feedback.x.y.z": (1,)},
    )


class Kind(enum.Enum):
    GOOD = "good"


class Rank(enum.IntEnum):
    TOP = 1


def test_non_str_keys(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    # Keys go through str(): an Enum key's str() is "Kind.GOOD", itself a dotted path.
    assert_clean_conversion(
        caplog,
        strict_flatten,
        {7: "int", ("t", 2): "tuple", Kind.GOOD: "enum", Rank.TOP: "intenum", 2.5: "float"},
        {
            "feedback.7": "int",
            "feedback.('t', 2)": "tuple",
            "feedback.Kind.GOOD": "enum",
            f"feedback.{Rank.TOP}": "intenum",
            "feedback.2.5": "float",
        },
    )


def test_empty_key(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    value = {"": 1, "ok": 2, "sub": {".": 3}}
    assert flatten(value, prefix="feedback") == {"feedback.ok": 2}
    assert_reported(caplog, "invalid_key", 2)
    assert reported(caplog)[0] == "invalid_key: key 'feedback.' is empty; dropped"
    with pytest.raises(InvalidKeyError, match="empty"):
        strict_flatten(value)


def test_empty_path_segments(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    value = {"a..b": 1, ".c": 2, "d.": 3}
    assert flatten(value, prefix="feedback") == {
        "feedback.a.b": 1,
        "feedback.c": 2,
        "feedback.d": 3,
    }
    assert_reported(caplog, "invalid_key", 3)
    assert reported(caplog)[0] == (
        "invalid_key: key 'feedback.a..b' has empty path segments; used 'a.b'"
    )
    with pytest.raises(InvalidKeyError, match="empty path segments"):
        strict_flatten(value)


class UnprintableKey:
    def __str__(self) -> str:
        raise RuntimeError("no text for this key")

    def __hash__(self) -> int:
        return 42


def test_key_whose_str_raises(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    value = {UnprintableKey(): 1, "kept": 2}
    assert flatten(value, prefix="feedback") == {"feedback.kept": 2}
    assert_reported(caplog, "invalid_key")
    assert "no text for this key" in reported(caplog)[0]
    with pytest.raises(InvalidKeyError, match="no text for this key"):
        strict_flatten(value)


# -- bytes and rich objects -----------------------------------------------------------------


def test_bytes_utf8(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(caplog, strict_flatten, {"b": "日本".encode()}, {"feedback.b": "日本"})


def test_bytes_not_utf8(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(
        caplog, strict_flatten, {"b": b"\x89PNG\r\n\x1a\n"}, {"feedback.b": "iVBORw0KGgo="}
    )


def test_datetime(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    when = dt.datetime(2025, 1, 31, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert_clean_conversion(
        caplog, strict_flatten, {"at": when}, {"feedback.at": "2025-01-31T23:59:59-05:00"}
    )


def test_decimal(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(
        caplog,
        strict_flatten,
        {"d": Decimal("0.1000"), "n": Decimal("NaN"), "big": Decimal("1E+30")},
        {"feedback.d": "0.1000", "feedback.n": "NaN", "feedback.big": "1E+30"},
    )


def test_uuid(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(
        caplog,
        strict_flatten,
        {"id": uuid.UUID(int=0xABC)},
        {"feedback.id": "00000000-0000-0000-0000-000000000abc"},
    )


def test_enum(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(
        caplog,
        strict_flatten,
        {"k": Kind.GOOD, "r": Rank.TOP},
        {"feedback.k": "good", "feedback.r": 1},
    )


@dataclasses.dataclass(frozen=True)
class Correction:
    field: str
    old: str | None
    new: str


def test_dataclass(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(
        caplog,
        strict_flatten,
        {"fix": Correction("city", None, "NY")},
        {"feedback.fix.field": "city", "feedback.fix.new": "NY"},
    )


class Rating(pydantic.BaseModel):
    stars: int
    comment: str = ""
    labels: list[str] = []
    fix: Correction | None = None


def test_pydantic_model(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(
        caplog,
        strict_flatten,
        {"r": Rating(stars=4, labels=["x"], fix=Correction("a", "b", "c"))},
        {
            "feedback.r.stars": 4,
            "feedback.r.comment": "",
            "feedback.r.labels": ("x",),
            "feedback.r.fix.field": "a",
            "feedback.r.fix.old": "b",
            "feedback.r.fix.new": "c",
        },
    )


class PydanticStyle:
    """Not pydantic, but quacks like a v2 model."""

    def model_dump(self) -> dict[str, Any]:
        return {"score": 0.5, "tags": ("a", "b")}


def test_pydantic_style_object(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(
        caplog,
        strict_flatten,
        {"m": PydanticStyle()},
        {"feedback.m.score": 0.5, "feedback.m.tags": ("a", "b")},
    )


class Span(NamedTuple):
    start: int
    end: int
    label: str = "x"


def test_namedtuple(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert_clean_conversion(
        caplog,
        strict_flatten,
        {"span": Span(1, 4), "spans": [Span(0, 1, "a")]},
        {
            "feedback.span.start": 1,
            "feedback.span.end": 4,
            "feedback.span.label": "x",
            "feedback.spans.0.start": 0,
            "feedback.spans.0.end": 1,
            "feedback.spans.0.label": "a",
        },
    )


def test_model_objects_passed_whole(
    caplog: pytest.LogCaptureFixture, strict_flatten: Flatten
) -> None:
    assert_clean_conversion(
        caplog,
        strict_flatten,
        Rating(stars=5),
        {"feedback.stars": 5, "feedback.comment": "", "feedback.labels": ()},
    )
    assert flatten(Span(1, 2)) == {"start": 1, "end": 2, "label": "x"}


# -- objects without an attribute form ------------------------------------------------------


class StrRaises:
    def __str__(self) -> str:
        raise ValueError("str is broken")

    def __repr__(self) -> str:
        return "StrRaises()"


class BothRaise:
    def __str__(self) -> str:
        raise ValueError("str is broken")

    def __repr__(self) -> str:
        raise ValueError("repr is broken")


class Opaque:
    def __str__(self) -> str:
        return "opaque thing"


def test_object_whose_str_raises(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert flatten({"o": StrRaises(), "k": 1}, prefix="feedback") == {
        "feedback.o": "StrRaises()",
        "feedback.k": 1,
    }
    assert_reported(caplog, "unsupported_value")
    assert "str is broken" in reported(caplog)[0]
    with pytest.raises(UnsupportedValueError, match="str is broken"):
        strict_flatten({"o": StrRaises()})


def test_object_whose_str_and_repr_raise(
    caplog: pytest.LogCaptureFixture, strict_flatten: Flatten
) -> None:
    assert flatten({"o": BothRaise()}, prefix="feedback") == {
        "feedback.o": "<unprintable BothRaise>"
    }
    assert_reported(caplog, "unsupported_value")
    with pytest.raises(UnsupportedValueError):
        strict_flatten({"o": BothRaise()})


def test_unknown_object(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    assert flatten({"o": Opaque(), "l": [Opaque()]}, prefix="feedback") == {
        "feedback.o": "opaque thing",
        "feedback.l.0": "opaque thing",
    }
    assert_reported(caplog, "unsupported_value", 2)
    assert reported(caplog)[0] == (
        "unsupported_value: 'feedback.o': a Opaque has no attribute form; convert it to a str, "
        "number, bool, list or mapping (default mode stores its str())"
    )
    with pytest.raises(UnsupportedValueError, match="Opaque"):
        strict_flatten({"o": Opaque()})


class BrokenMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("cannot iterate")

    def __len__(self) -> int:
        return 1


def test_mapping_whose_iteration_raises(
    caplog: pytest.LogCaptureFixture, strict_flatten: Flatten
) -> None:
    assert flatten({"first": 1, "bad": BrokenMapping()}, prefix="feedback") == {"feedback.first": 1}
    assert_reported(caplog, "unsupported_value")
    assert "cannot iterate" in reported(caplog)[0]
    with pytest.raises(UnsupportedValueError, match="cannot iterate"):
        strict_flatten({"bad": BrokenMapping()})


def test_model_dump_raises(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    class BadModel:
        def model_dump(self) -> dict[str, Any]:
            raise RuntimeError("dump failed")

        def __repr__(self) -> str:
            return "BadModel()"

        __str__ = __repr__

    assert flatten({"m": BadModel()}, prefix="feedback") == {"feedback.m": "BadModel()"}
    assert_reported(caplog, "unsupported_value")
    with pytest.raises(UnsupportedValueError, match="dump failed"):
        strict_flatten({"m": BadModel()})


def test_non_mapping_without_prefix(
    caplog: pytest.LogCaptureFixture, strict_flatten: Flatten
) -> None:
    assert flatten(5) == {}
    assert_reported(caplog, "invalid_key")
    with pytest.raises(InvalidKeyError, match="pass a mapping"):
        strict_flatten(5, "")


# -- size -----------------------------------------------------------------------------------


def test_one_megabyte_string_is_cut_to_the_value_limit(
    caplog: pytest.LogCaptureFixture, strict_flatten: Flatten
) -> None:
    text = "abcdé" * 200_000  # 1 000 000 characters, 1 200 000 bytes
    out = flatten({"big": text, "after": 1}, prefix="feedback")
    kept = out["feedback.big"]
    assert isinstance(kept, str)
    assert len(kept.encode()) <= 64 * 1024
    assert text.startswith(kept)
    assert len(kept.encode()) > 64 * 1024 - 6
    assert out["feedback.after"] == 1
    assert_reported(caplog, "value_too_large")
    with pytest.raises(FlattenError, match="OTEL_FEEDBACK_MAX_VALUE_BYTES"):
        strict_flatten({"big": text})


def test_ten_thousand_leaves(caplog: pytest.LogCaptureFixture, strict_flatten: Flatten) -> None:
    value = {f"group{g}": {f"item{i}": g * 100 + i for i in range(100)} for g in range(100)}
    out = flatten(value, prefix="feedback")
    assert len(out) == 10_000
    assert out == {
        f"feedback.group{g}.item{i}": g * 100 + i for g in range(100) for i in range(100)
    }
    assert reported(caplog) == []
    assert strict_flatten(value) == out


# -- strict mode switches -------------------------------------------------------------------


@pytest.mark.parametrize("setting", ["true", "TRUE", "1", "yes", "on", " True "])
def test_strict_from_environment(monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    monkeypatch.setenv("OTEL_FEEDBACK_STRICT", setting)
    otel_feedback.reload_settings()
    with pytest.raises(InvalidKeyError):
        flatten({"": 1}, prefix="feedback")


@pytest.mark.parametrize("setting", ["false", "0", "", "no"])
def test_lenient_from_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, setting: str
) -> None:
    monkeypatch.setenv("OTEL_FEEDBACK_STRICT", setting)
    otel_feedback.reload_settings()
    assert flatten({"": 1, "a": 2}, prefix="feedback") == {"feedback.a": 2}
    assert_reported(caplog, "invalid_key")


def test_argument_overrides_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_FEEDBACK_STRICT", "true")
    otel_feedback.reload_settings()
    assert flatten({"": 1, "a": 2}, prefix="feedback", strict=False) == {"feedback.a": 2}
    assert_reported(caplog, "invalid_key")
    monkeypatch.setenv("OTEL_FEEDBACK_STRICT", "false")
    otel_feedback.reload_settings()
    with pytest.raises(InvalidKeyError):
        flatten({"": 1}, prefix="feedback", strict=True)


@pytest.mark.parametrize(
    "error", [CycleError, FlattenError, InvalidKeyError, UnsupportedValueError]
)
def test_strict_errors_are_feedback_errors(error: type[Exception]) -> None:
    assert issubclass(error, FeedbackError)
