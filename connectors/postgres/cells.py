"""Database values as JSON-ready cells: exact, compact, and cut to a size a model can read."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from datetime import time as dt_time
from typing import Any

_FLOAT_SPELLING = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def json_cell(value: Any, max_chars: int) -> Any:
    """`value` as JSON-ready data; long text (and long JSON) cut to `max_chars`."""
    return sized_cell(value, max_chars)[0]


def sized_cell(value: Any, max_chars: int) -> tuple[Any, int, int]:
    """(`json_cell(value, max_chars)`, its size as UTF-8 JSON (numbers at their widest), the length of
    its full text form, 0 for a number: it was cut when that is over `max_chars`)."""
    if value is None:
        return None, 5, 0
    if isinstance(value, (bool, int)):
        return value, 21, 0
    if isinstance(value, float):
        return (value if math.isfinite(value) else _FLOAT_SPELLING[str(value)]), 26, 0
    if isinstance(value, str):
        return _sized_text(value, max_chars)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        hex_text = "\\x" + data[: max_chars // 2 + 1].hex()
        total = 2 + 2 * len(data)
        return clip(hex_text, max_chars, total=total), min(total, max_chars + 40) + 3, total
    if isinstance(value, (list, tuple, dict)):
        tree = _json_tree(value)
        text = json.dumps(tree, ensure_ascii=False, separators=(",", ":"))
        if len(text) <= max_chars:
            return tree, utf8_len(text) + 1, len(text)
        return _sized_text(text, max_chars)
    return _sized_text(_scalar_text(value), max_chars)


def _sized_text(text: str, max_chars: int) -> tuple[str, int, int]:
    full = len(text)
    if full > max_chars:
        text = clip(text, max_chars)
    return text, utf8_len(text) + 3, full


def utf8_len(text: str) -> int:
    """Bytes of `text` as UTF-8 (`str.isascii` is O(1) in CPython: ASCII text costs nothing)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _json_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_tree(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_tree(item) for item in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _FLOAT_SPELLING[str(value)]
    return _scalar_text(value)


def _scalar_text(value: Any) -> str:
    """Dates and times in ISO 8601, bytes as Postgres hex (\\x…), the rest (Decimal, UUID,
    interval, inet, ranges, …) as their text form: exact, unlike a float."""
    if isinstance(value, (datetime, date, dt_time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    return str(value)


def clip(text: str, max_chars: int, *, total: int | None = None) -> str:
    """`text` cut to `max_chars` characters, saying how many were left out."""
    length = len(text) if total is None else total
    if length <= max_chars:
        return text
    return f"{text[:max_chars]}…[truncated {length - max_chars} chars]"
