"""A hostile stdio MCP server written by hand, so that it controls its raw output line by line.

    python -m tests.support.huge_server            # tools: ok, huge (a result of `size` bytes)

`huge` writes one JSON-RPC answer of `size` bytes of text, its id first (`order: "python"`, the Python
SDK's field order) or last (`order: "ts"`, the TypeScript SDK's), in 1 MB writes: it never holds it
whole, the hub would. `notify` sends a notification of `size` bytes, then answers (a dropped message
that answers nothing). At start it writes "PID PPID" to `$HUGE_TEST_PID` when set. With `HUGE_TEST_LINGER=1`
it does not exit when its stdin closes: it sleeps (a server that would outlive a hub killed without a goodbye).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

TOOLS = [
    {
        "name": "ok",
        "description": "Answer ok.",
        "inputSchema": {"type": "object", "properties": {}},
        "annotations": {"readOnlyHint": True},
    },
    {
        "name": "huge",
        "description": "Answer a text of the given size.",
        "inputSchema": {
            "type": "object",
            "properties": {"size": {"type": "integer"}, "order": {"type": "string"}},
            "required": ["size"],
        },
        "annotations": {"readOnlyHint": True},
    },
    {
        "name": "notify",
        "description": "Send a large log message, then answer ok.",
        "inputSchema": {"type": "object", "properties": {"size": {"type": "integer"}}, "required": ["size"]},
        "annotations": {"readOnlyHint": True},
    },
]
CHUNK = 1 << 20


def send(message: dict[str, Any]) -> None:
    sys.stdout.buffer.write(json.dumps(message).encode() + b"\n")
    sys.stdout.buffer.flush()


def send_text_line(before: bytes, size: int, after: bytes) -> None:
    """`before` + `size` x's + `after` + newline, without holding the x's at once."""
    out = sys.stdout.buffer
    out.write(before)
    left = size
    while left > 0:
        out.write(b"x" * min(CHUNK, left))
        left -= CHUNK
    out.write(after + b"\n")
    out.flush()


def huge(request_id: Any, size: int, order: str) -> None:
    rid = json.dumps(request_id).encode()
    text_start, text_end = b'{"content":[{"type":"text","text":"', b'"}],"isError":false}'
    if order == "ts":  # {result, jsonrpc, id}
        send_text_line(b'{"result":' + text_start, size, text_end + b',"jsonrpc":"2.0","id":' + rid + b"}")
    else:  # {jsonrpc, id, result}
        send_text_line(b'{"jsonrpc":"2.0","id":' + rid + b',"result":' + text_start, size, text_end + b"}")


def answer(request: dict[str, Any]) -> None:
    method, rid, params = request.get("method"), request.get("id"), request.get("params") or {}
    if rid is None:
        return  # a notification
    if method == "initialize":
        result: dict[str, Any] = {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "huge-test", "version": "1"},
        }
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        args = params.get("arguments") or {}
        if params.get("name") == "huge":
            huge(rid, int(args["size"]), str(args.get("order", "python")))
            return
        if params.get("name") == "notify":
            note = {"level": "info", "data": "y" * int(args["size"])}
            send({"jsonrpc": "2.0", "method": "notifications/message", "params": note})
        result = {"content": [{"type": "text", "text": "ok"}], "isError": False}
    elif method == "ping":
        result = {}
    else:
        send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "Method not found"}})
        return
    send({"jsonrpc": "2.0", "id": rid, "result": result})


def main() -> None:
    if os.environ.get("HUGE_TEST_PID"):
        with open(os.environ["HUGE_TEST_PID"], "w") as file:
            file.write(f"{os.getpid()} {os.getppid()}\n")
    for line in sys.stdin.buffer:
        if line.strip():
            answer(json.loads(line))
    while os.environ.get("HUGE_TEST_LINGER") == "1":  # stdin closed: stay (the point of this server)
        time.sleep(3600)


if __name__ == "__main__":
    main()
