"""One conversion step for values that are not plain attribute types (docs/DESIGN.md §4 leaves).

:func:`coerce` turns an Enum, datetime, UUID, Decimal, path, bytes, dataclass, NamedTuple,
attrs class, pydantic model, set or other collection into something simpler (a primitive,
a mapping or a list). Whatever has no such form becomes its ``str()``, flagged unsupported.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import math
from collections.abc import Collection, Mapping
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def float_text(value: float) -> str:
    """The string kept for a non-finite float: ``"nan"``, ``"inf"`` or ``"-inf"``."""
    if math.isnan(value):
        return "nan"
    return "inf" if value > 0 else "-inf"


def bytes_text(value: bytes | bytearray | memoryview) -> str:
    """UTF-8 text when the bytes decode, else their standard base64 encoding."""
    raw = bytes(value)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii")


def object_fields(value: object) -> dict[str, Any] | None:
    """The fields of a dataclass, NamedTuple, attrs class or pydantic model, else ``None``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return dict(zip(value._fields, value, strict=False))
    attrs_fields = getattr(type(value), "__attrs_attrs__", None)
    if attrs_fields is not None:
        return {attribute.name: getattr(value, attribute.name) for attribute in attrs_fields}
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump) and not isinstance(value, type):
        dumped = model_dump()
        if isinstance(dumped, Mapping):
            return dict(dumped)
    return None


def coerce(value: object) -> tuple[object, bool]:
    """Convert ``value`` one step towards an attribute value.

    Returns the converted value and whether only ``str()`` could represent it. May raise
    whatever user code raises (``__str__``, a property, ``model_dump``); callers catch it.
    """
    if isinstance(value, Enum):
        return value.value, False
    if isinstance(value, bool):
        return bool(value), False
    if isinstance(value, int):
        return int(value), False
    if isinstance(value, float):
        return float(value), False
    if isinstance(value, str):
        return str.__str__(value), False
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat(), False
    if isinstance(value, (UUID, Decimal, PurePath)):
        return str(value), False
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_text(value), False
    fields = object_fields(value)
    if fields is not None:
        return fields, False
    if isinstance(value, (set, frozenset)):
        try:
            return sorted(value), False
        except TypeError:
            return list(value), False
    if isinstance(value, Collection) and not isinstance(value, Mapping):
        return list(value), False
    return str(value), True


def describe(value: object) -> str:
    """A short, never-raising description of ``value``'s type for log messages."""
    return type(value).__qualname__


def shown(value: object, limit: int = 120) -> str:
    """``repr(value)`` for a log message: never raising (user ``__repr__``, huge ints), cut
    after ``limit`` characters."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - user code may raise anything
        text = f"<a {describe(value)}>"
    return text if len(text) <= limit else text[:limit] + "…"


def last_resort_text(value: object) -> str:
    """``str(value)``, else ``repr(value)``, else a placeholder naming the type."""
    for render in (str, repr):
        try:
            return render(value)
        except Exception:  # noqa: BLE001, PERF203 - user code may raise anything
            continue
    return f"<unprintable {describe(value)}>"


# -- text and numbers the OTLP encoders accept ------------------------------------------------


def encodable(text: str) -> tuple[str, bool]:
    """``text`` as valid Unicode, and whether it had to be repaired.

    A Python ``str`` may hold surrogate code points, which have no UTF-8 form: the OTLP
    encoders fail on them (and drop the value, or the batch). A surrogate pair becomes the
    character it stands for; a lone surrogate becomes U+FFFD.
    """
    if text.isascii():
        return text, False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        repaired = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return repaired, True
    return text, False


def utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (``text`` must be encodable, see :func:`encodable`)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def clip_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes, at a character boundary."""
    if text.isascii():
        return text[:max_bytes]
    if len(text) * 4 <= max_bytes:
        return text
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def clean_text(text: str, max_bytes: int) -> tuple[str, bool, bool]:
    """``(text, repaired, truncated)``: encodable and at most ``max_bytes`` UTF-8 bytes."""
    if text.isascii():
        if len(text) <= max_bytes:
            return text, False, False
        return text[:max_bytes], False, True
    text, repaired = encodable(text)
    if len(text) * 4 <= max_bytes:
        return text, repaired, False
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text, repaired, False
    return raw[:max_bytes].decode("utf-8", "ignore"), repaired, True


def int_text(value: int) -> tuple[str, bool]:
    """The decimal text of an int outside int64, and whether it is only an approximation.

    Python refuses to convert ints of more than ``sys.get_int_max_str_digits()`` digits
    (4,300 by default) to text, and exact conversion is quadratic; such an int is kept as
    ``"≈1.234567890e+5000"``, with the digits a double's logarithm gets right (instantly).
    """
    try:
        return str(value), False
    except ValueError:
        pass
    magnitude = math.log10(abs(value))
    exponent = math.floor(magnitude)
    decimals = max(1, 13 - len(str(exponent)))
    mantissa = round(10 ** (magnitude - exponent), decimals)
    if mantissa >= 10:  # rounding at an exact power of ten
        mantissa, exponent = mantissa / 10, exponent + 1
    sign = "-" if value < 0 else ""
    return f"≈{sign}{mantissa:.{decimals}f}e+{exponent}", True
