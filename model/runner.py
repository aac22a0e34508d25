"""Wiring for `mcp-hub agent`: configuration, hub, model client, gate, and progress output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from mcp_hub.approvals import ApprovalQueue
from mcp_hub.config import load_config
from mcp_hub.logs import current_format, progress
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import build_server, hub_policy
from model.agent import Agent, AgentOptions, new_run_id
from model.approvals import Approver, terminal_ask
from model.gate import Gate, VerdictLog
from model.guard import FlowGuard
from model.hub import AGENT_CALLER, open_hub
from model.profiles import get_profile
from model.settings import take_model_settings


async def run_agent_command(args: argparse.Namespace, make_client: Callable[..., Any]) -> int:
    registry = Registry.discover()
    config = load_config(args.config, ecosystem_env=registry.ecosystem_env())
    settings = take_model_settings(config)
    profile = get_profile(args.profile or settings.profile)
    log_path = args.verdict_log or settings.verdict_log or VerdictLog.beside(config.hub.audit_log)
    approver = Approver(globs=tuple(args.approve or settings.approve), ask=terminal_ask())
    wait = settings.wait_for_approval if getattr(args, "wait_for_approval", None) is None else args.wait_for_approval
    gate = Gate(approver, FlowGuard(), VerdictLog(log_path), run=new_run_id())
    options = AgentOptions(
        max_steps=args.max_steps or settings.max_steps,
        stream=not args.json,
        model=args.served_name or settings.name,
    )
    show = _printer(args)
    async with AsyncExitStack() as stack:
        redactor = None
        client = await stack.enter_async_context(make_client(args, settings))
        if args.hub_url:
            session = await stack.enter_async_context(open_hub(args.hub_url))
        else:
            server = build_server(config, registry=registry, caller=Caller(AGENT_CALLER, "memory", hub_policy(config)))
            redactor = server.redactor  # knows the connectors' secrets: none of them reaches the queue
            session = await stack.enter_async_context(open_hub(server))
        if wait:  # writes that need a person wait in the approvals queue (hub.state_url)
            approver.queue = ApprovalQueue.from_config(config, redactor=redactor)
            approver.caller, approver.transport = AGENT_CALLER, "http" if args.hub_url else "memory"
            await approver.queue.store.check()
            stack.push_async_callback(approver.queue.aclose)
        agent = Agent(client, session, profile, gate, options, on_event=show)
        result = await agent.run(args.task)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2, default=str))
    elif result.status == "answered":
        print(result.answer)
    else:
        progress(f"stopped ({result.status}): {result.error}", status=result.status)
    return 0 if result.status == "answered" else 1


def _printer(args: argparse.Namespace) -> Callable[[dict[str, Any]], None]:
    if not args.json and current_format() == "json":
        return _json_printer

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


def _json_printer(event: dict[str, Any]) -> None:
    """With `--log-format json`, the agent's steps as JSON events on stderr (its reasoning is not streamed)."""
    kind = event["type"]
    if kind == "reasoning_delta" or kind not in ("tool_call", "tool_result", "repair", "error", "stop"):
        return
    fields = {k: (v[:200] if isinstance(v, str) else v) for k, v in event.items() if k != "type"}
    progress(f"agent_{kind}", **fields)
