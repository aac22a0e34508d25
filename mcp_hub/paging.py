"""Explicit cursors and token budgets for results a model reads page by page.

Cursors are opaque to the model (URL-safe base64 of compact JSON), so a
connector can put whatever it needs to resume in them (an upstream page
number, a file index, a keyset) without the model editing them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mcp_hub.errors import InvalidInput

T = TypeVar("T")


def encode_cursor(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any]:
    """The state inside `cursor` ({} for None); InvalidInput for anything not made by `encode_cursor`."""
    if not cursor:
        return {}
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("invalid cursor: pass back the next_cursor value of the previous page unchanged") from None
    if not isinstance(state, dict):
        raise InvalidInput("invalid cursor: pass back the next_cursor value of the previous page unchanged")
    return state


def take_within_budget(
    items: Sequence[T], start: int, budget_tokens: int, cost: Callable[[T], int]
) -> tuple[list[T], int | None]:
    """Items from `start` whose total cost fits `budget_tokens`, and the next start (None at the end).

    At least one item is always returned, so an item larger than the whole
    budget still makes progress; the caller should truncate that item itself.
    """
    taken: list[T] = []
    spent = 0
    index = start
    while index < len(items):
        item_cost = cost(items[index])
        if taken and spent + item_cost > budget_tokens:
            break
        taken.append(items[index])
        spent += item_cost
        index += 1
    return taken, (index if index < len(items) else None)
