"""Tools that ask the client through an InputRequiredResult (MCP 2026-07-28), and replicas sharing its key."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import anyio
import mcp_types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel

from mcp_hub.calls import InputRequired, asks_by_input_required, current_context
from mcp_hub.config import load_config
from mcp_hub.connector import Connector, ConnectorSettings, ToolOutput, tool
from mcp_hub.errors import ConfigError, NotFound
from mcp_hub.policy import Caller
from mcp_hub.provenance import Provenance
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy

pytestmark = pytest.mark.anyio

KEY = "0123456789abcdef0123456789abcdef-shared"


class Answer(BaseModel):
    what: str
    action: str
    rounds_asked: int


class AskConnector(Connector[ConnectorSettings]):
    """Asks "ok?" once; the retry answers with what round one put in its state."""

    name: ClassVar[str] = "ask"
    settings_model = ConnectorSettings
    default_toolsets = frozenset({"ask"})

    @tool(toolset="ask", description="Ask the user, then answer.")
    async def confirm(self, what: str) -> ToolOutput[Answer]:
        ctx = current_context()
        assert asks_by_input_required(ctx)
        if ctx.request_state is None:
            question = mcp_types.ElicitRequest(
                params=mcp_types.ElicitRequestFormParams(
                    message=f"ok to {what}?", requested_schema={"type": "object", "properties": {}}
                )
            )
            state = json.dumps({"what": what, "asked": 1})
            raise InputRequired(mcp_types.InputRequiredResult(input_requests={"ok": question}, request_state=state))
        state = json.loads(ctx.request_state)
        answer = (ctx.input_responses or {})["ok"]
        assert isinstance(answer, mcp_types.ElicitResult)
        data = Answer(what=state["what"], action=answer.action, rounds_asked=state["asked"])
        return ToolOutput(data, Provenance("ask://confirm", "public"))

    @tool(toolset="ask", description="Fail inside a task group, as a workflow's inner client does.")
    async def grouped(self, ask: bool) -> ToolOutput[Answer]:
        async def fail() -> None:
            if ask:
                await self.confirm("from a group")
            raise NotFound("no such thing, raised inside a task group")

        async with anyio.create_task_group() as group:
            group.start_soon(fail)
        raise AssertionError("unreachable")


def hub(env: dict[str, str] | None = None) -> HubServer:
    registry = Registry([AskConnector])
    config = load_config(env={"MCP_HUB_ASK__VISIBILITY": "public"} | (env or {}), ecosystem_env={})
    return build_server(config, registry=registry, caller=Caller("local", "memory", hub_policy(config)))


async def test_a_tool_asks_and_the_retry_answers(tmp_path: Any) -> None:
    asked: list[str] = []

    async def callback(context: Any, params: mcp_types.ElicitRequestParams) -> Any:
        asked.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={})

    server = hub({"MCP_HUB_HUB__AUDIT_LOG": str(tmp_path / "audit.jsonl")})
    async with Client(server, elicitation_callback=callback) as client:
        result = await client.call_tool("ask_confirm", {"what": "deploy"})
    assert not result.is_error, result.content
    assert result.structured_content == {"what": "deploy", "action": "accept", "rounds_asked": 1}
    assert asked == ["ok to deploy?"]
    outcomes = [json.loads(line)["outcome"] for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert outcomes == ["input_required", "ok"]


async def round_one(server: HubServer) -> mcp_types.InputRequiredResult:
    async with Client(server) as client:
        first = await client.session.call_tool("ask_confirm", {"what": "merge"}, allow_input_required=True)
    assert isinstance(first, mcp_types.InputRequiredResult) and first.request_state
    assert "merge" not in first.request_state  # sealed by the SDK, not the plain JSON the tool wrote
    return first


async def retry(server: HubServer, first: mcp_types.InputRequiredResult) -> Any:
    answers: dict[str, Any] = {"ok": mcp_types.ElicitResult(action="accept", content={})}
    async with Client(server) as client:
        try:
            return await client.session.call_tool(
                "ask_confirm", {"what": "merge"}, input_responses=answers, request_state=first.request_state
            )
        except MCPError as exc:  # a protocol error: the state was refused before any tool ran
            return exc


async def test_replicas_sharing_the_key_take_each_other_s_retries() -> None:
    env = {"MCP_HUB_HUB__REQUEST_STATE_KEY": KEY}
    replica_a, replica_b = hub(env), hub(env)
    answered = await retry(replica_b, await round_one(replica_a))
    assert not answered.is_error and answered.structured_content["what"] == "merge"
    # Each process's own key (the default) refuses state another process minted.
    refused = await retry(hub(), await round_one(hub()))
    assert isinstance(refused, MCPError) and "Invalid or expired requestState" in str(refused)


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="request_state_key must be 32 characters or more"):
        hub({"MCP_HUB_HUB__REQUEST_STATE_KEY": "short"})


async def test_what_a_tool_raises_inside_a_task_group_keeps_its_meaning() -> None:
    async def callback(context: Any, params: mcp_types.ElicitRequestParams) -> Any:
        return mcp_types.ElicitResult(action="accept", content={})

    async with Client(hub(), elicitation_callback=callback) as client:
        failed = await client.call_tool("ask_grouped", {"ask": False})
        asked = await client.session.call_tool("ask_grouped", {"ask": True}, allow_input_required=True)
    assert failed.is_error and failed.meta["mcp_hub/error"] == "not_found", failed.content  # not masked
    assert isinstance(asked, mcp_types.InputRequiredResult) and asked.input_requests  # the question, not a failure
