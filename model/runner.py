"""`mcp-hub agent`: an agent over the hub (`model.app`), with progress output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from model.app import AgentApp


async def run_agent_command(args: argparse.Namespace) -> int:
    app = AgentApp.from_args(args)
    show = _printer(args)
    async with app.client() as client, app.session() as session:
        result = await app.agent(client, session, stream=not args.json, on_event=show).run(args.task)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2, default=str))
    elif result.status == "answered":
        print(result.answer)
    else:
        print(f"stopped ({result.status}): {result.error}", file=sys.stderr)
    return 0 if result.status == "answered" else 1


def _printer(args: argparse.Namespace) -> Callable[[dict[str, Any]], None]:
    def show(event: dict[str, Any]) -> None:
        if args.json:
            return
        kind = event["type"]
        if kind == "reasoning_delta" and args.show_reasoning:
            sys.stderr.write(event["text"])
        elif kind == "tool_call":
            sys.stderr.write(f"\n→ {event['tool']} {json.dumps(event['arguments'], ensure_ascii=False)[:200]}\n")
        elif kind == "tool_result" and event["status"] != "called":
            sys.stderr.write(f"✗ {event['tool']}: {event['status']}: {event['result'][:200]}\n")
        elif kind == "tool_result":
            sys.stderr.write(f"✓ {event['tool']}\n")
        elif kind in ("repair", "error", "stop"):
            sys.stderr.write(f"! {kind}: {json.dumps({k: v for k, v in event.items() if k != 'type'})}\n")
        sys.stderr.flush()

    return show
