"""Tokens a model reads for a 200-message Slack history: our tool's rendering vs the raw API JSON.

Serves a fake Slack (tests/connectors/slack) on 127.0.0.1 holding 200 realistic messages (rich_text
blocks, mentions, links, reactions, threads, edits, as `conversations.history` returns them), calls
`slack_get_history` through the hub, and counts DeepSeek tokens (`mcp_hub.tokens.count_tokens`) of:
the raw `conversations.history` JSON body, our text content, and our structured content. Target: the text
at most one quarter of the raw JSON.

    python bench/slack_compactness.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcp import Client

from connectors.slack import SlackConnector
from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import build_server, hub_policy
from mcp_hub.tokens import count_tokens
from tests.connectors.slack import workspace as ws
from tests.connectors.slack.fake_slack import FakeSlack
from tests.support.http_server import serve_in_thread

MESSAGES = 200
TARGET = 0.25


async def measure(url: str, fake: FakeSlack) -> dict[str, float]:
    registry = Registry([SlackConnector])
    env = {"SLACK_BOT_TOKEN": "xoxb-bench", "MCP_HUB_SLACK__BASE_URL": url}
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    server = build_server(config, registry=registry, caller=Caller("bench", "memory", hub_policy(config)))
    async with Client(server) as client:
        result = await client.call_tool("slack_get_history", {"channel": ws.GENERAL, "limit": MESSAGES})
    assert not result.is_error, result.content
    raw = {
        "ok": True,
        "messages": list(reversed(fake.history[ws.GENERAL])),
        "has_more": False,
        "pin_count": 0,
        "response_metadata": {"next_cursor": ""},
    }
    raw_tokens = count_tokens(json.dumps(raw, separators=(",", ":"), ensure_ascii=False))
    text_tokens = count_tokens(result.content[0].text)
    structured_tokens = count_tokens(json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False))
    return {
        "messages": len(result.structured_content["messages"]),
        "raw_json_tokens": raw_tokens,
        "text_tokens": text_tokens,
        "structured_tokens": structured_tokens,
        "text_ratio": round(text_tokens / raw_tokens, 3),
        "structured_ratio": round(structured_tokens / raw_tokens, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    fake = FakeSlack("xoxb-bench", "xoxp-bench", validate=False)
    for message in ws.busy_history(MESSAGES):
        fake.post(ws.GENERAL, message)
    with serve_in_thread(fake.app()) as url:
        row = anyio.run(measure, url, fake)
    if args.json:
        print(json.dumps(row, indent=2))
        return
    verdict = "ok" if row["text_ratio"] <= TARGET else "OVER"
    print(f"{row['messages']} messages of conversations.history")
    print(f"raw API JSON:        {row['raw_json_tokens']:>7} tokens")
    print(f"our text content:    {row['text_tokens']:>7} tokens ({row['text_ratio']:.1%}; target <= 25%) {verdict}")
    print(f"our structured JSON: {row['structured_tokens']:>7} tokens ({row['structured_ratio']:.1%})")


if __name__ == "__main__":
    main()
