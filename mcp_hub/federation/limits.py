"""A federated server's messages are bounded in bytes while they arrive, not after.

`max_result_bytes` was checked on a result once the SDK had read and parsed it whole: a server
answering 2 GB took the hub's memory with it. The transports (`stdio`, `http_limits`) now count
each incoming JSON-RPC message as its bytes arrive and drop one that passes `message_cap`; when
the dropped message answered a request (its id is found in its first or last bytes, where the
Python and TypeScript SDKs write it), the request is failed at once with a synthesized JSON-RPC
error of code `TOO_LARGE`, which `link.request` turns into the hub's `ResultTooLarge`.

The exact check on the parsed result (`results.size_check`) stays: the cap here allows for the
JSON-RPC envelope around a result.
"""

from __future__ import annotations

import re
from typing import Any

from mcp import types as mt

#: The code of the error the hub puts in place of an answer that passed the cap. In the range
#: JSON-RPC leaves to implementations; a server sending it itself only gets the hub's message.
TOO_LARGE = -32099
#: Bytes allowed around a result: the JSON-RPC envelope, `_meta`, escaping of the result's text.
ENVELOPE_BYTES = 64 * 1024
#: How many bytes of a dropped message's start and end are kept to find its id.
EDGE_BYTES = 512

# {"jsonrpc":"2.0","id":7,"result":…  (Python SDK, pydantic's field order) or …,"id":7} at the end
# (TypeScript SDK: {result, jsonrpc, id}). An id is a number or a string (JSON-RPC 2.0).
ID = rb'"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.){0,200}")'
#: The start of a JSON-RPC message up to its id, when written first (the id itself is optional).
JSONRPC_HEAD = rb'^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?'
_HEAD = re.compile(JSONRPC_HEAD + ID + rb"\s*,")
_TAIL = re.compile(rb"[,{]\s*" + ID + rb"\s*\}\s*$")


def message_cap(max_result_bytes: int) -> int:
    """The most bytes one incoming message may have."""
    return max_result_bytes + ENVELOPE_BYTES


def message_id(head: bytes, tail: bytes) -> int | str | None:
    """The JSON-RPC id of a message from its first and last `EDGE_BYTES`, or None (a notification, or
    an id written elsewhere: the request then ends by its timeout)."""
    import json

    found = _HEAD.match(head) or _TAIL.search(tail)
    if found is None:
        return None
    try:
        value: Any = json.loads(found.group(1))
    except ValueError:
        return None
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def too_large_message(server: str, cap: int) -> str:
    return (
        f"federated server {server} answered more than {cap:,} bytes (servers.{server}.max_result_bytes "
        f"plus {ENVELOPE_BYTES // 1024} KiB for the envelope); the answer was dropped as it arrived. "
        "Ask for less (a page, a filter), or ask the operator to raise max_result_bytes."
    )


def too_large_error(request_id: int | str, server: str, cap: int) -> mt.JSONRPCError:
    """The answer put in place of a dropped one, so that its request fails at once."""
    return mt.JSONRPCError(
        jsonrpc="2.0", id=request_id, error=mt.ErrorData(code=TOO_LARGE, message=too_large_message(server, cap))
    )
