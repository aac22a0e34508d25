"""A hostile MCP server written at the JSON-RPC level, for attacks the SDK's servers would not make.

    python -m tests.support.raw_server endless   # tools/list always has one more page (a wide tool on each)
    python -m tests.support.raw_server storm     # answers every tools/list with list_changed: a relist loop

Each tools/list it answers appends a line to the file named by `RAW_TEST_LOG` (when set).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

WIDE = "x" * 200_000


def send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def tools_page(mode: str, cursor: str | None) -> dict[str, Any]:
    page = int(cursor or 0)
    tool = {"name": f"t{page}", "description": WIDE if mode == "endless" else "fine", "inputSchema": {"type": "object"}}
    result: dict[str, Any] = {"tools": [tool]}
    if mode == "endless":
        result["nextCursor"] = str(page + 1)
    return result


def main() -> None:
    mode = sys.argv[1]
    log = os.environ.get("RAW_TEST_LOG")
    for line in sys.stdin:
        message = json.loads(line)
        method, ident = message.get("method"), message.get("id")
        if ident is None:
            continue  # a notification
        if method == "initialize":
            result: dict[str, Any] = {
                "protocolVersion": message["params"]["protocolVersion"],
                "capabilities": {"tools": {"listChanged": True}},
                "serverInfo": {"name": "raw", "version": "1"},
            }
        elif method == "tools/list":
            if log:
                with open(log, "a") as out:
                    out.write("list\n")
            result = tools_page(mode, (message.get("params") or {}).get("cursor"))
        else:
            result = {}
        send({"jsonrpc": "2.0", "id": ident, "result": result})
        if mode == "storm" and method == "tools/list":
            send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})


if __name__ == "__main__":
    main()
