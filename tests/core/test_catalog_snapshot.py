"""Snapshot of every tool's name, description, input schema and DeepSeek token cost.

A change to the catalog (a new tool, a reworded description, a new argument)
shows as a diff of `tests/data/catalog_snapshot.json` in review, with its cost
in tokens, like github-mcp-server's per-tool snapshots. After an intended
change: `MCP_HUB_UPDATE_SNAPSHOT=1 pytest tests/core/test_catalog_snapshot.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mcp_hub.tokens import tool_cost
from tests.support.catalog import full_catalog

SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "catalog_snapshot.json"


def current() -> dict[str, Any]:
    tools = sorted(full_catalog(), key=lambda tool: tool.name)
    return {
        tool.name: {
            "tokens": tool_cost(tool.name, tool.description, tool.input_schema).tokens,
            "description": tool.description,
            "input_schema": tool.input_schema,
        }
        for tool in tools
    }


def test_catalog_matches_its_snapshot() -> None:
    now = current()
    if os.environ.get("MCP_HUB_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(now, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    recorded = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    added, removed = sorted(now.keys() - recorded.keys()), sorted(recorded.keys() - now.keys())
    changed = sorted(name for name in now.keys() & recorded.keys() if now[name] != recorded[name])
    assert not (added or removed or changed), (
        f"catalog changed: added {added}, removed {removed}, changed {changed}; "
        "if intended, rerun with MCP_HUB_UPDATE_SNAPSHOT=1 and review the diff"
    )
