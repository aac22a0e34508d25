"""`mcp-hub model check`: what an endpoint serves and how it behaves, on a short prompt."""

from __future__ import annotations

import time
from typing import Any

from model.client import ModelClient
from model.errors import ModelError

PING_TOOL = {
    "type": "function",
    "function": {
        "name": "ping",
        "description": "Reply pong.",
        "parameters": {"type": "object", "properties": {"note": {"type": "string"}}},
    },
}


def reasoning_shape(message: dict[str, Any]) -> str:
    if message.get("reasoning"):
        return "reasoning"
    if message.get("reasoning_content"):
        return "reasoning_content"
    if "</think>" in str(message.get("content") or ""):
        return "think-tags"
    return "none"


async def check_endpoint(client: ModelClient, model: str | None = None) -> dict[str, Any]:
    report: dict[str, Any] = {"base_url": client.endpoint.base_url}
    models = await client.models()
    report["models"] = models
    chosen = model or (models[0] if models else "")
    report["model"] = chosen
    prompt = [{"role": "user", "content": "In one short sentence: what is 2 + 3?"}]
    raw = await client.raw_complete(chosen, prompt, max_tokens=256)
    message = (raw.get("choices") or [{}])[0].get("message") or {}
    report["reasoning_shape"] = reasoning_shape(message)
    started = time.perf_counter()
    first: float | None = None
    tokens = 0
    async for event in client.stream(chosen, prompt, max_tokens=256):
        if event.kind in ("reasoning", "content") and first is None:
            first = time.perf_counter()
        if event.kind == "done" and event.completion is not None:
            tokens = int(event.completion.usage.get("completion_tokens") or 0)
    ended = time.perf_counter()
    report["time_to_first_token_s"] = round((first or ended) - started, 4)
    generation = ended - (first or started)
    report["tokens_per_s"] = round(tokens / generation, 1) if tokens and generation > 0 else None
    try:
        tools = await client.complete(
            chosen,
            [{"role": "user", "content": "Call the ping tool now."}],
            tools=[PING_TOOL],
            tool_choice="auto",
            max_tokens=256,
        )
        report["native_tool_calls"] = any(c.name == "ping" for c in tools.tool_calls)
    except ModelError as exc:
        report["native_tool_calls"] = False
        report["native_tool_calls_error"] = exc.message
    return report
