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
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _FLOAT_SPELLING[str(value)]
    if isinstance(value, str):
        return _clip(value, max_chars)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        hex_text = "\\x" + data[: max_chars // 2 + 1].hex()
        return _clip(hex_text, max_chars, total=2 + 2 * len(data))
    if isinstance(value, (list, tuple, dict)):
        tree = _json_tree(value)
        text = json.dumps(tree, ensure_ascii=False, separators=(",", ":"))
        return tree if len(text) <= max_chars else _clip(text, max_chars)
    return _clip(_scalar_text(value), max_chars)


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


def _clip(text: str, max_chars: int, *, total: int | None = None) -> str:
    length = len(text) if total is None else total
    if length <= max_chars:
        return text
    return f"{text[:max_chars]}…[truncated {length - max_chars} chars]"
