"""The fast path of :func:`otel_feedback.flatten` for plain JSON-like input (docs/DESIGN.md §4).

Most feedback is a ``dict`` of short ASCII text, numbers, bools, nested dicts and lists, on
which the general walk (``flatten._Walk``) reports nothing and takes no detour. That input
is flattened here with one Python call per container and no bookkeeping. Anything else
makes the walk give up (``False``): a key that is not a plain name (an exact ``str``,
non-empty, without a dot), an int outside int64, any other type, a container past the
depth limits. Text that is long or not ASCII, and large arrays, are written as they are and
their keys listed in ``large``; :func:`large_size` then measures them, and gives up on any
the general walk would repair or cut. Having no side effects, giving up costs only time:
the caller then runs the general walk from the start, which reports as it must.

Every recursion goes one mapping or one list deeper, so a cycle always ends at a depth
limit, where the walk gives up; the general walk then finds the cycle. ``tests/
test_flatten_plain.py`` proves the two walks give the same attributes and size bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from opentelemetry.util.types import AttributeValue

from otel_feedback._coerce import INT64_MAX, INT64_MIN, float_text, utf8_size

Attributes = dict[str, AttributeValue]


def plain_mapping(
    mapping: dict[Any, Any],
    base: str,
    out: Attributes,
    objects: int,
    arrays: int,
    small: int,
    large: list[str],
) -> bool:
    """Write ``mapping``'s entries under ``base`` into ``out``; ``False`` at the first one
    that is not plain. ``objects`` / ``arrays``: how many more nested mappings / lists the
    depth limits allow; ``small``: the longest ASCII text (array: bytes) written without a
    check; the keys of larger values are added to ``large``."""
    for key, item in mapping.items():
        if type(key) is not str or not key or "." in key:
            return False
        kind = type(item)
        if kind is str:
            if len(item) > small or not item.isascii():
                large.append(base + key)  # measured by large_size() after the walk
            out[base + key] = item
        elif kind is bool:
            out[base + key] = item
        elif kind is int:
            if not INT64_MIN <= item <= INT64_MAX:
                return False
            out[base + key] = item
        elif kind is float:
            out[base + key] = item if item - item == 0.0 else float_text(item)
        elif kind is dict:
            if not objects or not plain_mapping(
                item, f"{base}{key}.", out, objects - 1, arrays, small, large
            ):
                return False
        elif kind is list or kind is tuple:
            if not arrays or not plain_sequence(
                item, base + key, out, objects, arrays - 1, small, large
            ):
                return False
        elif item is not None:
            return False
    return True


def plain_sequence(
    items: Sequence[Any],
    key: str,
    out: Attributes,
    objects: int,
    arrays: int,
    small: int,
    large: list[str],
) -> bool:
    """A list at ``key`` (its depth already counted): a small native array or a list of
    dicts; ``False`` for any other."""
    if items and type(items[0]) is dict:
        if not objects:
            return False
        for index, item in enumerate(items):
            if type(item) is not dict or not plain_mapping(
                item, f"{key}.{index}.", out, objects - 1, arrays, small, large
            ):
                return False
        return True
    native = native_array(items)
    if native is None:
        return False
    if native and type(native[0]) is str:
        joined = "".join(native)
        if len(joined) > small or not joined.isascii():
            large.append(key)
    elif len(native) * 8 > small:
        large.append(key)
    out[key] = native
    return True


def large_size(value: object, max_bytes: int) -> int | None:
    """The bytes the general walk counts for a text or array in ``large``, which it keeps
    as it is; ``None`` when it would repair text with no UTF-8 form or cut the value."""
    if type(value) is str:
        texts: tuple[Any, ...] = (value,)
    else:
        texts = cast(tuple[Any, ...], value)
        if not texts or type(texts[0]) is not str:
            size = len(texts) * 8
            return size if size <= max_bytes else None
    try:
        total = sum(utf8_size(text) for text in texts)
    except UnicodeEncodeError:  # lone surrogates: repaired, and reported
        return None
    return total if total <= max_bytes else None


def native_array(items: Sequence[Any]) -> tuple[Any, ...] | None:
    """``items`` as one homogeneous array attribute, or ``None`` if it must be indexed."""
    if not items:
        return ()
    first = type(items[0])
    if first is not str and first is not bool and first is not int and first is not float:
        return None
    for item in items:  # a plain loop: all(<generator>) costs more on short arrays
        if type(item) is not first:
            return None
        if first is int and not INT64_MIN <= item <= INT64_MAX:
            return None
        if first is float and item - item != 0.0:
            return None
    return tuple(items)
