"""Run in a subprocess by test_result_bytes: the hub's peak memory while it answers wide queries.

    python -m tests.connectors.postgres.rss_probe DSN CALLS MAX_CELL_CHARS [--no-streaming]

Builds a hub on DSN (budget `BUDGET`), warms it up, then makes CALLS concurrent
`postgres_query` calls over the in-memory client reading every row of `wide`.
Prints one JSON line: the resident set before the calls and its peak after
(the process's own memory: client and server, nothing else), and the replies' sizes.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import anyio
from mcp import Client

from connectors.postgres import wire
from tests.connectors.postgres.conftest import hub_for

BUDGET = 1024 * 1024
WIDE = "SELECT id, body FROM wide ORDER BY id"


def status_kib(field: str) -> int:
    """VmRSS (resident now) or VmHWM (its peak) of this process. Not `ru_maxrss`: Linux carries that
    over `execve`, so a child of a big pytest process would start with its parent's peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def reset_peak() -> None:
    """Start VmHWM afresh from the current resident set (Linux >= 4.0)."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


async def main(dsn: str, calls: int, max_cell_chars: int) -> dict[str, Any]:
    env = {
        "MCP_HUB_POSTGRES__MAX_RESULT_BYTES": str(BUDGET),
        "MCP_HUB_POSTGRES__MAX_CELL_CHARS": str(max_cell_chars),
        "MCP_HUB_POSTGRES__POOL_MAX_SIZE": str(max(4, calls)),
    }
    replies: list[dict[str, Any]] = []
    async with Client(hub_for(dsn, env)) as client:
        for _ in range(3):  # imports, connections, caches
            warm = await client.call_tool("postgres_query", {"sql": "SELECT id, left(body, 10) FROM wide LIMIT 5"})
            assert not warm.is_error, warm.content
        reset_peak()
        before = status_kib("VmRSS")
        peak_before = status_kib("VmHWM")

        async def one() -> None:
            result = await client.call_tool("postgres_query", {"sql": WIDE})
            assert not result.is_error, result.content
            replies.append(result.structured_content or {})

        async with anyio.create_task_group() as group:
            for _ in range(calls):
                group.start_soon(one)
        peak = status_kib("VmHWM")
    return {
        "rss_before_kib": before,
        "peak_before_kib": peak_before,
        "peak_after_kib": peak,
        "rows": [reply["row_count"] for reply in replies],
        "truncated": [reply["truncated"] for reply in replies],
        "more": [reply.get("more") for reply in replies],
        "text_bytes": [len(json.dumps(reply["rows"])) for reply in replies],
    }


if __name__ == "__main__":
    if "--no-streaming" in sys.argv:
        wire.CHUNK_ROWS = 0
    print(json.dumps(anyio.run(main, sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
