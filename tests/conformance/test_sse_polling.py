"""SSE polling (SEP-1699) at the version that has it: a POST stream primed with an event id and a `retry` hint,
closed by the server mid-call, and the result delivered when the client comes back with `Last-Event-ID`.

The conformance suite's own scenario posts with `MCP-Protocol-Version: 2025-03-26` (whose clients cannot parse
priming events), so it cannot see this; here is the same flow at 2025-11-25, over a real socket.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2

from tests.support.conformance_hub import conformance_hub
from tests.support.http_server import serve_in_thread

VERSION = "2025-11-25"
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def sse_events(response: httpx2.Response) -> list[dict[str, Any]]:
    """Every event of a (finite) SSE response: its id, retry and data."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in response.iter_lines():
        if not line:
            if current:
                events.append(current)
            current = {}
            continue
        field, _, value = line.partition(":")
        current[field] = current.get(field, "") + value.removeprefix(" ")
    if current:
        events.append(current)
    return events


def test_a_call_survives_its_stream_being_closed(tmp_path: Path) -> None:
    _, app = conformance_hub(tmp_path / "audit.jsonl")
    with serve_in_thread(app) as base, httpx2.Client(base_url=base, timeout=10) as http:
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
        }
        opened = http.post("/mcp", json=init, headers=HEADERS)
        session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": VERSION}
        http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=HEADERS | session)
        call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "test_reconnection"}}
        with http.stream("POST", "/mcp", json=call, headers=HEADERS | session) as posted:
            assert posted.headers["content-type"].startswith("text/event-stream")
            first_stream = sse_events(posted)
        priming = first_stream[0]
        assert priming["id"] and priming["data"] == "" and priming["retry"] == "1000"
        assert not any('"id":7' in e.get("data", "").replace(" ", "") for e in first_stream)  # closed before the result
        resumed_headers = HEADERS | session | {"last-event-id": first_stream[-1]["id"], "accept": "text/event-stream"}
        with http.stream("GET", "/mcp", headers=resumed_headers) as resumed:
            result = None
            for line in resumed.iter_lines():
                if line.startswith("data:") and line[5:].strip():
                    message = json.loads(line[5:])
                    if message.get("id") == 7:
                        result = message["result"]
                        break
        assert result is not None and result["content"][0]["text"] == "Reconnection test completed successfully."
