"""Against a real server (`pytest -m live`, with MCP_HUB_LIVE_MODEL_URL=http://host:8000/v1 and optionally
MCP_HUB_LIVE_MODEL_PROFILE); skipped when no endpoint is configured."""

from __future__ import annotations

import os

import pytest

from model.check import check_endpoint
from model.client import ModelClient
from model.endpoint import resolve_endpoint
from model.profiles import get_profile
from model.toolcalls import ToolInfo, action_schema, constraint_params, parse_action

pytestmark = [pytest.mark.live, pytest.mark.anyio]


def _client() -> ModelClient:
    return ModelClient(
        resolve_endpoint(os.environ.get("MCP_HUB_LIVE_MODEL_BACKEND", "vllm"), os.environ["MCP_HUB_LIVE_MODEL_URL"])
    )


async def test_live_check() -> None:
    async with _client() as client:
        report = await check_endpoint(client)
    assert report["models"] and report["time_to_first_token_s"] > 0


async def test_live_constrained_protocol_parses() -> None:
    profile = get_profile(os.environ.get("MCP_HUB_LIVE_MODEL_PROFILE", "r1-distill-qwen-14b"))
    tools = [
        ToolInfo(
            "add",
            "Add two integers.",
            {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
            True,
        )
    ]
    async with _client() as client:
        model = (await client.models())[0]
        params = constraint_params(profile.constraint, action_schema(tools)) | profile.sampling()
        prompt = 'Call the add tool for 2 and 3. Reply with {"tool": "add", "arguments": {...}}.'
        completion = await client.complete(model, [{"role": "user", "content": prompt}], max_tokens=2048, **params)
    action = parse_action(completion.content, {"add"})
    assert action.calls and action.calls[0][0] == "add"
