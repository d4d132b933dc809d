"""Nested values to flat OpenTelemetry attributes and back (docs/DESIGN.md §4).

Rules, in the order they apply:

* Mappings become dotted keys; keys go through ``str()``. A dotted key is a path, so
  ``{"a.b": 1}`` equals ``{"a": {"b": 1}}``. Empty path segments are dropped (``"a..b"`` is
  ``"a.b"``); a key with no segment left is dropped. Both are reported.
* **Conflicts** are settled by *the later entry wins*, in the mapping's iteration order: a key
  given twice keeps its last value, and a key that is both a leaf and a parent keeps whichever
  came last. Every conflict is reported. Mappings reached by two paths are merged.
* Homogeneous lists of ``str``, ``bool``, ``int`` (int64) or finite ``float`` stay one native
  array attribute (a tuple). Any other list (objects, lists, mixed types, ``None``) becomes
  indexed keys: ``edits.0.value``.
* Leaves: ``bool``, ``int`` (outside int64 kept as its decimal string; past Python's digit
  limit, as an approximation, reported), ``float`` (non-finite kept as
  ``"nan"``/``"inf"``/``"-inf"``), ``str``. ``None`` is omitted. Other values are converted by
  :mod:`otel_feedback._coerce`; what has no form is kept as ``str()`` and reported.
* Every value is one the OTLP encoders accept: text holding lone surrogates (no UTF-8 form)
  is repaired with U+FFFD, in keys and values; a value larger than
  :attr:`FlattenLimits.max_value_bytes` is cut to it (a string at a character boundary, an
  array by its last items), and a longer key is dropped. Each is reported.
* Depth: at most :attr:`FlattenLimits.max_object_depth` nested mappings and
  :attr:`FlattenLimits.max_array_depth` nested lists on any path; the first one deeper is
  kept whole as a compact JSON string at its key, and reported. Nothing is lost.
* A container that contains itself is a cycle: the repeated reference is omitted and reported.

:func:`unflatten` inverts :func:`flatten`: ``unflatten(flatten(x)) == x`` for JSON-like ``x``
within the limits whose keys are non-empty, dot-free and not all digits, and that holds no
empty mapping. When a key is both a leaf and a parent in its input, the mapping wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.util.types import AttributeValue

from otel_feedback._coerce import (
    INT64_MAX,
    INT64_MIN,
    clean_text,
    coerce,
    describe,
    encodable,
    float_text,
    int_text,
    last_resort_text,
    object_fields,
    shown,
    utf8_size,
)
from otel_feedback._plain import large_size, native_array, plain_mapping
from otel_feedback.errors import (
    CycleError,
    FeedbackError,
    FlattenError,
    InvalidKeyError,
    KeyConflictError,
    UnsupportedValueError,
)
from otel_feedback.limits import FlattenLimits, in_force
from otel_feedback.reporting import report, strict_mode

Attributes = dict[str, AttributeValue]

_OMIT = object()


class _Merged(dict[str, Any]):
    """A mapping built while resolving dotted keys; owned by the walk, so safe to mutate."""


def flatten(
    value: object,
    prefix: str = "",
    *,
    limits: FlattenLimits | None = None,
    strict: bool | None = None,
) -> Attributes:
    """Flatten a nested mapping into OpenTelemetry attributes under ``prefix``.

    ``flatten({"edits": [{"value": "NY"}]}, prefix="feedback")`` gives
    ``{"feedback.edits.0.value": "NY"}``. A value that is not a mapping is stored at
    ``prefix`` itself. ``limits`` default to the settings' (``OTEL_FEEDBACK_MAX_*_DEPTH``).
    Never raises unless ``strict`` (or ``OTEL_FEEDBACK_STRICT=true``).
    """
    if strict is not None:
        with strict_mode(strict):
            return flatten(value, prefix, limits=limits)
    plain = _plain_flat(value, prefix, limits)
    if plain is not None:
        return plain[0]
    return _walked(value, prefix, limits).out


def flatten_measured(value: object, prefix: str) -> tuple[Attributes, int]:
    """:func:`flatten`, and a quick upper bound of the attributes' size in bytes (UTF-8 keys
    and text, 8 per attribute), as :func:`otel_feedback.record.fit_record` measures it."""
    plain = _plain_flat(value, prefix, None)
    if plain is not None:
        return plain
    walk = _walked(value, prefix, None)
    return walk.out, walk.size_bound()


def _plain_flat(value: object, prefix: object, limits: object) -> tuple[Attributes, int] | None:
    """The fast path (:mod:`otel_feedback._plain`): the attributes of a plain ``dict`` and
    their size bound, as the general walk gives them; ``None`` when that walk must run."""
    if type(value) is not dict or type(prefix) is not str or not prefix.isascii():
        return None
    if limits is None:
        limits = in_force()
    elif type(limits) is not FlattenLimits:
        return None
    max_bytes = limits.max_value_bytes
    small = _SMALL_TEXT if max_bytes > _SMALL_TEXT else max_bytes  # min(), without its call
    out: Attributes = {}
    large: list[str] = []
    base = f"{prefix}." if prefix else ""
    try:
        if not plain_mapping(
            value, base, out, limits.max_object_depth, limits.max_array_depth, small, large
        ):
            return None
    except RecursionError:  # called near the recursion limit: the general walk reports it
        return None
    # What _Walk.finish checks: keys it keeps as they are (ASCII, each within the limit).
    keys = "".join(out)
    if not keys.isascii() or (
        len(keys) > max_bytes and any(len(key) > max_bytes for key in out)
    ):
        return None
    bound = len(keys) + len(out) * (small + 8)  # _Walk.size_bound()
    for key in large:  # a large value counts its own bytes, not small's
        size = large_size(out[key], max_bytes)
        if size is None:
            return None
        bound += size - small
    return out, bound


def _walked(value: object, prefix: object, limits: object) -> _Walk:
    if limits is not None and not isinstance(limits, FlattenLimits):
        report(
            "invalid_value",
            FlattenError(
                f"limits= must be a FlattenLimits, got a {describe(limits)}; used the settings'"
            ),
        )
        limits = None
    walk = _Walk(limits if limits is not None else FlattenLimits.from_settings())
    if type(prefix) is not str or not prefix.isascii():
        prefix = _prefix_text(prefix)
    if type(value) is dict:  # the usual case, without the checks below
        try:
            walk.mapping(value, f"{prefix}." if prefix else "", 0, 0)
        except FeedbackError:
            raise
        except Exception as exc:  # noqa: BLE001 - RecursionError, or user code raising
            _walk_failed(exc)
        keys = "".join(walk.out)  # walk.finish(), inline on the usual path
        if len(keys) <= walk.max_bytes and keys.isascii():
            walk.key_bytes = len(keys)
        else:
            walk.check_keys()
        return walk
    try:
        fields = None if isinstance(value, Mapping) else _top_fields(value)
        if fields is not None:  # a dataclass, model, ... passed whole is the top-level mapping
            walk.active.add(id(value))
            value = fields
        if isinstance(value, Mapping):
            walk.mapping(value, f"{prefix}." if prefix else "", 0, 0)
        elif prefix:
            walk.value(prefix, value, 0, 0)
        elif value is not None:
            report(
                "invalid_key",
                InvalidKeyError(
                    f"cannot flatten a {describe(value)} without a prefix; pass a mapping"
                ),
            )
    except FeedbackError:
        raise
    except Exception as exc:  # noqa: BLE001 - user containers (__iter__, items) may raise
        _walk_failed(exc)
    walk.finish()
    return walk


def _prefix_text(prefix: object) -> str:
    """A prefix that is not a plain ASCII ``str``, as encodable text (``""`` if it has none)."""
    if not isinstance(prefix, str):
        text = last_resort_text(prefix) if prefix is not None else ""
        report(
            "invalid_key",
            InvalidKeyError(f"prefix must be a str, got a {describe(prefix)}; used {text!r}"),
        )
        prefix = text
    text, repaired = encodable(str.__str__(prefix))
    if repaired:
        report("unencodable_text", FlattenError(f"prefix {_shown(text)} {_SURROGATES}"))
    return text


_SMALL_TEXT = 1024
"""Text up to this many ASCII characters needs no check against the value limit."""

_SURROGATES = "held lone surrogates (text with no UTF-8 form); replaced them with U+FFFD"


def _shown(text: str) -> str:
    """``text`` for a log message: quoted, and cut when long."""
    return repr(text) if len(text) <= 120 else repr(text[:120]) + "…"


def _walk_failed(exc: Exception) -> None:
    """Report a walk stopped by a RecursionError or by user code raising."""
    if isinstance(exc, RecursionError):
        report(
            "too_deep",
            FlattenError("value nests deeper than Python's recursion limit; rest omitted"),
        )
    else:
        report(
            "unsupported_value",
            UnsupportedValueError(f"flattening raised {shown(exc)}; rest omitted"),
        )


def _top_fields(value: object) -> dict[str, Any] | None:
    """The fields of a dataclass, model, NamedTuple or attrs instance passed as the whole value."""
    if value is None or type(value) in (str, bool, int, float, list, tuple):
        return None
    try:
        return object_fields(value)
    except Exception:  # noqa: BLE001 - converted, and reported, by the walk instead
        return None


class _Walk:
    """One pass over a nested value, writing attributes into ``out``."""

    __slots__ = (
        "active",
        "key_bytes",
        "large",
        "large_count",
        "max_array",
        "max_bytes",
        "max_object",
        "out",
        "small",
    )

    def __init__(self, limits: FlattenLimits) -> None:
        self.out: Attributes = {}
        self.max_object = limits.max_object_depth
        self.max_array = limits.max_array_depth
        self.max_bytes = limits.max_value_bytes
        # Text up to `small` ASCII characters is written inline; longer values go through
        # text() / array() / big_int(), which add their bytes to `large`, so size_bound()
        # needs no pass over the attributes.
        self.small = min(_SMALL_TEXT, self.max_bytes)
        self.large = self.large_count = self.key_bytes = 0
        self.active: set[int] = set()

    def finish(self) -> None:
        """Check every key at once: keys are written unchecked (a plain ``str`` without dots
        is a path segment), so text with no UTF-8 form is repaired and a key longer than the
        value limit dropped here, each reported. Also measures the keys for size_bound()."""
        keys = "".join(self.out)
        if len(keys) <= self.max_bytes and keys.isascii():
            self.key_bytes = len(keys)
        else:
            self.check_keys()

    def check_keys(self) -> None:
        """``finish`` for keys that are not all short ASCII."""
        checked: Attributes = {}
        for key, item in self.out.items():
            text = self.key_text(key, "")
            if text is not None:
                checked[text] = item
        self.out = checked
        self.key_bytes = sum(utf8_size(key) for key in checked)

    def size_bound(self) -> int:
        """At least the bytes of ``out`` as ``fit_record`` counts them."""
        key_bytes = self.key_bytes
        small_values = max(0, len(self.out) - self.large_count)
        return key_bytes + self.large + 8 * self.large_count + small_values * (self.small + 8)

    def counted(self, size: int) -> None:
        """Count a value of ``size`` bytes in the size bound."""
        self.large += size
        self.large_count += 1

    # -- containers ---------------------------------------------------------------------

    def mapping(self, mapping: Mapping[Any, Any], base: str, objects: int, arrays: int) -> None:
        """Write every entry of ``mapping`` under ``base`` (which ends with a dot, or is empty).

        The hot path of every helper, so plain leaves are written inline (what
        :meth:`value` does for them) and the mapping joins ``active`` only once it has a
        container child: a cycle can only be closed through one.
        """
        ident = id(mapping)
        active = self.active
        if ident in active:
            self.cycle(base[:-1])
            return
        registered = False
        small = self.small
        for key in mapping:
            if type(key) is not str or not key or "." in key:
                active.add(ident)
                registered = True
                mapping = self.resolve_paths(mapping, base)
                break
        out = self.out
        for key, item in mapping.items():
            kind = type(item)
            if kind is str:
                out[base + key] = (
                    item if len(item) <= small and item.isascii() else self.text(base + key, item)
                )
            elif kind is bool:
                out[base + key] = item
            elif kind is int:
                out[base + key] = (
                    item if INT64_MIN <= item <= INT64_MAX else self.big_int(base + key, item)
                )
            elif kind is float:
                out[base + key] = item if item - item == 0.0 else float_text(item)
            elif item is not None:
                if not registered:
                    active.add(ident)
                    registered = True
                if kind is dict or kind is _Merged:
                    if objects >= self.max_object:
                        self.overflow(base + key, item, "object")
                    else:
                        self.mapping(item, f"{base}{key}.", objects + 1, arrays)
                elif kind is list or kind is tuple:
                    self.sequence(base + key, item, objects, arrays)
                else:
                    self.other(base + key, item, objects, arrays)
        if registered:
            active.discard(ident)

    def nested(self, key: str, mapping: Mapping[Any, Any], objects: int, arrays: int) -> None:
        if objects >= self.max_object:
            self.overflow(key, mapping, "object")
        else:
            self.mapping(mapping, key + ".", objects + 1, arrays)

    def sequence(self, key: str, items: Sequence[Any], objects: int, arrays: int) -> None:
        if arrays >= self.max_array:
            self.overflow(key, items, "array")
            return
        # A list of objects (the usual indexed case) skips the native-array attempt.
        if not items or type(items[0]) is not dict:
            native = native_array(items)
            if native is not None:
                if native and type(native[0]) is str:
                    joined = "".join(native)
                    if len(joined) <= self.small and joined.isascii():
                        self.out[key] = native  # short ASCII text: nothing to check
                        return
                elif len(native) * 8 <= self.small:
                    self.out[key] = native
                    return
                self.out[key] = self.array(key, native)
                return
        ident = id(items)
        active = self.active
        if ident in active:
            self.cycle(key)
            return
        active.add(ident)
        deeper = arrays + 1
        if objects < self.max_object:
            mapping = self.mapping
            inner = objects + 1
            for index, item in enumerate(items):
                if type(item) is dict:  # a list of objects
                    mapping(item, f"{key}.{index}.", inner, deeper)
                else:
                    self.value(f"{key}.{index}", item, objects, deeper)
        else:
            for index, item in enumerate(items):
                self.value(f"{key}.{index}", item, objects, deeper)
        active.discard(ident)

    # -- leaves -------------------------------------------------------------------------

    def value(self, key: str, item: Any, objects: int, arrays: int) -> None:
        """Write one value at ``key``: a leaf, or the keys of a nested container."""
        kind = type(item)
        if kind is str:
            self.out[key] = (
                item if len(item) <= self.small and item.isascii() else self.text(key, item)
            )
        elif kind is bool:
            self.out[key] = item
        elif kind is int:
            self.out[key] = item if INT64_MIN <= item <= INT64_MAX else self.big_int(key, item)
        elif kind is float:
            self.out[key] = item if item - item == 0.0 else float_text(item)
        elif kind is dict or kind is _Merged:
            self.nested(key, item, objects, arrays)
        elif kind is list or kind is tuple:
            self.sequence(key, item, objects, arrays)
        elif item is not None:
            self.other(key, item, objects, arrays)

    def text(self, key: str, item: str) -> str:
        """``item`` made encodable and cut to the value limit, each reported."""
        text, repaired, truncated = clean_text(item, self.max_bytes)
        if repaired:
            report("unencodable_text", FlattenError(f"{_shown(key)}: the value {_SURROGATES}"))
        if truncated:
            self.too_large(key, utf8_size(encodable(item)[0]), "its first")
        self.counted(utf8_size(text))
        return text

    def too_large(self, key: str, size: int, kept: str) -> None:
        report(
            "value_too_large",
            FlattenError(
                f"{_shown(key)}: a value of {size} bytes is over the limit of {self.max_bytes} "
                f"(OTEL_FEEDBACK_MAX_VALUE_BYTES); kept {kept} {self.max_bytes} bytes"
            ),
        )

    def big_int(self, key: str, item: int) -> str:
        """The text of an int outside int64; an approximation (reported) past the digit limit."""
        text, approximate = int_text(item)
        if approximate:
            report(
                "value_too_large",
                FlattenError(
                    f"{_shown(key)}: an int of more digits than Python converts to text "
                    f"(sys.get_int_max_str_digits()); kept the approximation {text}"
                ),
            )
        elif len(text) > self.max_bytes:
            self.too_large(key, len(text), "the first")
            text = text[: self.max_bytes]
        self.counted(len(text))
        return text

    def array(self, key: str, items: tuple[Any, ...]) -> tuple[Any, ...]:
        """A native array within the value limit: strings encodable, the total at most
        ``max_bytes`` (a number counts 8), else its last items left out (reported)."""
        max_bytes = self.max_bytes
        if not items:
            return items
        if type(items[0]) is not str:
            size = len(items) * 8
            if size > max_bytes:
                self.too_large(key, size, "the items within")
                items = items[: max_bytes // 8]
                size = len(items) * 8
            if size > self.small:
                self.counted(size)
            return items
        joined = "".join(items)
        if joined.isascii() and len(joined) <= max_bytes:
            if len(joined) > self.small:
                self.counted(len(joined))
            return items
        texts = [encodable(item) for item in items]
        repaired = sum(fixed for _, fixed in texts)
        if repaired:
            report(
                "unencodable_text",
                FlattenError(f"{_shown(key)}: {repaired} array item(s) {_SURROGATES}"),
            )
        kept: list[str] = []
        total = 0
        for text, _ in texts:
            size = utf8_size(text)
            if total + size > max_bytes:
                whole = sum(utf8_size(text) for text, _ in texts)
                self.too_large(key, whole, "the items within")
                break
            kept.append(text)
            total += size
        self.counted(total)
        return tuple(kept)

    def other(self, key: str, item: object, objects: int, arrays: int) -> None:
        """Convert a value that is not a plain attribute type, then write it."""
        if isinstance(item, Mapping):
            self.nested(key, item, objects, arrays)
            return
        converted = self.convert(key, item)
        if converted is _OMIT:
            return
        ident = id(item)
        self.active.add(ident)
        self.value(key, converted, objects, arrays)
        self.active.discard(ident)

    def convert(self, key: str, item: object) -> object:
        """``coerce`` guarded against user code raising and against cycles."""
        if id(item) in self.active:
            self.cycle(key)
            return _OMIT
        try:
            converted, unsupported = coerce(item)
        except Exception as exc:  # noqa: BLE001 - user code (__str__, properties) may raise
            converted, unsupported = last_resort_text(item), False
            report(
                "unsupported_value",
                UnsupportedValueError(
                    f"{key!r}: converting a {describe(item)} raised {shown(exc)}; "
                    f"kept {shown(converted)}"
                ),
            )
        if unsupported:
            report(
                "unsupported_value",
                UnsupportedValueError(
                    f"{key!r}: a {describe(item)} has no attribute form; convert it to a str, "
                    "number, bool, list or mapping (default mode stores its str())"
                ),
            )
        return converted

    # -- JSON for what is deeper than the limits -------------------------------------------

    def overflow(self, key: str, item: object, what: str) -> None:
        """Keep a container deeper than the limits whole, as a JSON string at ``key``."""
        if id(item) in self.active:
            self.cycle(key)
            return
        active = set(self.active)
        try:
            self.out[key] = self.text(key, self.json_text(item))
        except RecursionError:
            self.active = active
            report(
                "too_deep",
                FlattenError(f"{key!r} nests deeper than Python's recursion limit; omitted"),
            )
            return
        report(
            "depth_limit",
            FlattenError(f"{key!r}: {what} nested beyond the depth limit; kept as a JSON string"),
        )

    def json_text(self, item: object) -> str:
        return json.dumps(
            self.jsonable(item), separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )

    def jsonable(self, item: Any) -> object:
        kind = type(item)
        if kind is str or kind is bool or item is None:
            return item
        if kind is int:
            return item if INT64_MIN <= item <= INT64_MAX else self.big_int("<json>", item)
        if kind is float:
            return item if item - item == 0.0 else float_text(item)
        is_mapping = isinstance(item, Mapping)
        if not (is_mapping or kind is list or kind is tuple):
            converted = self.convert("<json>", item)
            if converted is _OMIT:
                return _OMIT
            self.active.add(id(item))
            result = self.jsonable(converted)
            self.active.discard(id(item))
            return result
        ident = id(item)
        if ident in self.active:
            self.cycle("<json>")
            return _OMIT
        self.active.add(ident)
        result_container: object
        if is_mapping:
            entries = ((self.key_text(k, ""), self.jsonable(v)) for k, v in item.items())
            result_container = {k: v for k, v in entries if k is not None and v is not _OMIT}
        else:
            converted_items = (self.jsonable(v) for v in item)
            result_container = [v for v in converted_items if v is not _OMIT]
        self.active.discard(ident)
        return result_container

    # -- keys -----------------------------------------------------------------------------

    def key_text(self, key: object, base: str) -> str | None:
        """``str(key)``, made encodable; ``None`` (reported) when that raises or the key is
        longer than the value limit."""
        if type(key) is str:
            text = key
        else:
            try:
                text = str(key)
                if type(text) is not str:
                    text = str.__str__(text)
            except Exception as exc:  # noqa: BLE001 - user __str__ may raise
                report(
                    "invalid_key",
                    InvalidKeyError(
                        f"a {describe(key)} key under {_shown(base)} has no str(): {shown(exc)}"
                    ),
                )
                return None
        if text.isascii():
            size = len(text)
        else:
            text, repaired = encodable(text)
            if repaired:
                report(
                    "unencodable_text",
                    FlattenError(f"key {_shown(base + text)} {_SURROGATES}"),
                )
            size = utf8_size(text)
        if size > self.max_bytes:
            report(
                "invalid_key",
                InvalidKeyError(
                    f"key {_shown(base + text)} is {size} bytes, over the limit of "
                    f"{self.max_bytes} (OTEL_FEEDBACK_MAX_VALUE_BYTES); dropped"
                ),
            )
            return None
        return text

    def resolve_paths(self, mapping: Mapping[Any, Any], base: str) -> _Merged:
        """Rebuild a mapping whose keys are not plain names: split paths, merge conflicts."""
        merged = _Merged()
        for raw_key, item in mapping.items():
            key = self.key_text(raw_key, base)
            if key is None:
                continue
            parts = [part for part in key.split(".") if part]
            if len(parts) != key.count(".") + 1:
                reason = "is empty" if not parts else "has empty path segments"
                report(
                    "invalid_key",
                    InvalidKeyError(
                        f"key {base + key!r} {reason}; "
                        + ("dropped" if not parts else f"used {'.'.join(parts)!r}")
                    ),
                )
                if not parts:
                    continue
            self.place(merged, parts, item, base)
        return merged

    def resolve_nested(self, mapping: Mapping[Any, Any], base: str) -> _Merged:
        """``resolve_paths`` for a mapping met while resolving; one that contains it is a cycle."""
        ident = id(mapping)
        if ident in self.active:
            self.cycle(base[:-1])
            return _Merged()
        self.active.add(ident)
        merged = self.resolve_paths(mapping, base)
        self.active.discard(ident)
        return merged

    def place(self, node: _Merged, parts: list[str], item: Any, base: str) -> None:
        """Put ``item`` at path ``parts`` inside ``node``; the later entry wins conflicts."""
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if type(child) is not _Merged:
                if child is None:
                    child = _Merged()
                elif isinstance(child, Mapping):
                    child = self.resolve_nested(child, f"{base}{'.'.join(parts[: depth + 1])}.")
                else:
                    self.conflict(base + ".".join(parts[: depth + 1]), "a value and a parent")
                    child = _Merged()
                node[part] = child
            node = child
        last = parts[-1]
        previous = node.get(last)
        if previous is None:
            node[last] = item
        elif isinstance(previous, Mapping) and isinstance(item, Mapping):
            inner_base = f"{base}{'.'.join(parts)}."
            merged = (
                previous if type(previous) is _Merged else self.resolve_nested(previous, inner_base)
            )
            if id(item) in self.active:
                self.cycle(inner_base[:-1])
            else:
                self.active.add(id(item))
                for key, value in item.items():
                    child_key = self.key_text(key, inner_base)
                    child_parts = [part for part in (child_key or "").split(".") if part]
                    if child_parts:
                        self.place(merged, child_parts, value, inner_base)
                self.active.discard(id(item))
            node[last] = merged
        else:
            self.conflict(base + ".".join(parts), "given twice")
            node[last] = item

    def conflict(self, key: str, what: str) -> None:
        report(
            "key_conflict",
            KeyConflictError(f"key {key!r} is {what}; the later entry wins"),
        )

    def cycle(self, key: str) -> None:
        report(
            "cycle",
            CycleError(f"{key!r} refers to an object that contains it; reference omitted"),
        )


def unflatten(
    attributes: Mapping[str, Any], prefix: str = "", *, strict: bool | None = None
) -> dict[str, Any]:
    """Rebuild the nested value from flat attributes whose keys start with ``prefix + "."``.

    Keys ``0..n-1`` under one parent become a list; arrays become lists. When a key is both
    a leaf and a parent, the mapping is kept and the leaf is reported and dropped. A key that
    is not a ``str`` is reported and skipped; anything but a mapping gives ``{}`` (reported).
    Never raises unless ``strict`` (or ``OTEL_FEEDBACK_STRICT=true``).
    """
    if strict is not None:
        with strict_mode(strict):
            return unflatten(attributes, prefix)
    if not isinstance(attributes, Mapping):
        report(
            "invalid_value",
            FlattenError(
                f"unflatten() takes a mapping of attributes, got a {describe(attributes)}"
            ),
        )
        return {}
    if not isinstance(prefix, str):
        report(
            "invalid_key",
            InvalidKeyError(f"prefix must be a str, got a {describe(prefix)}; nothing unflattened"),
        )
        return {}
    try:
        return _unflatten(attributes, f"{prefix}." if prefix else "")
    except FeedbackError:
        raise
    except Exception as exc:  # noqa: BLE001 - a user mapping's items() may raise
        report(
            "unsupported_value",
            UnsupportedValueError(
                f"reading the attributes raised {shown(exc)}; nothing unflattened"
            ),
        )
        return {}


class _Node(dict[str, Any]):
    """A mapping built by :func:`unflatten` (a ``dict`` value given as an attribute is a leaf)."""


def _unflatten(attributes: Mapping[Any, Any], start: str) -> dict[str, Any]:
    root = _Node()
    # Every node made, after its parent: finished in reverse, each node becomes a list or a
    # plain dict before its parent does, without recursion (keys may nest thousands deep).
    made: list[tuple[_Node, _Node, str]] = []
    for key, item in attributes.items():
        if type(key) is not str:
            report(
                "invalid_key",
                InvalidKeyError(
                    f"attribute key {shown(key)} is a {describe(key)}, not a str; skipped"
                ),
            )
            continue
        if start and not key.startswith(start):
            continue
        parts = key[len(start) :].split(".")
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if type(child) is not _Node:
                if child is not None:
                    _leaf_dropped(key)
                child = _Node()
                node[part] = child
                made.append((child, node, part))
            node = child
        last = parts[-1]
        if type(node.get(last)) is _Node:
            _leaf_dropped(key)
            continue
        node[last] = list(item) if isinstance(item, (tuple, list)) else item
    for node, parent, part in reversed(made):
        parent[part] = _finished(node)
    return dict(root)


def _leaf_dropped(key: str) -> None:
    report(
        "key_conflict",
        KeyConflictError(f"{key!r}: a key is both a value and a parent; the mapping is kept"),
    )


def _finished(node: _Node) -> dict[str, Any] | list[Any]:
    """A node whose keys are ``0..n-1`` as a list, else as a plain dict."""
    size = len(node)
    if size and all(str(index) in node for index in range(size)):
        return [node[str(index)] for index in range(size)]
    return dict(node)
