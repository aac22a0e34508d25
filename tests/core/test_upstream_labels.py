"""The hub's second wall on labels: a result whose provenance names a resource no guarded request addressed
is refused as the hub's own bug (issue 18: "no tool result's provenance can disagree with the request")."""

from __future__ import annotations

from typing import Annotated, ClassVar

import pytest
from mcp import Client
from pydantic import BaseModel, Field

from mcp_hub.config import load_config
from mcp_hub.connector import Connector, ConnectorSettings, ToolOutput, tool
from mcp_hub.policy import Caller
from mcp_hub.provenance import Provenance
from mcp_hub.registry import Registry
from mcp_hub.secret import Secret
from mcp_hub.server import build_server, hub_policy
from mcp_hub.upstream import RequestGuard, Route, Scope, current_journal

pytestmark = pytest.mark.anyio

GUARD = RequestGuard(Scope("forge", "https://forge.test/api", (Route("repo", r"/repos/(?P<key>[^/]+/[^/]+)(?:/.*)?"),)))


class ForgeSettings(ConnectorSettings):
    token: Secret | None = None


class Out(BaseModel):
    ok: bool


class ForgeConnector(Connector[ForgeSettings]):
    """Stands for a connector on the kit: its transport records what the guard allowed."""

    name: ClassVar[str] = "forge"
    settings_model = ForgeSettings
    ecosystem_env: ClassVar[dict[str, str]] = {"FORGE_TOKEN": "token"}

    @tool(toolset="read", description="Read one repository's file, labelled as `label` says.")
    async def read(self, path: Annotated[str, Field(max_length=200)], label: str) -> ToolOutput[Out]:
        journal = current_journal()
        assert journal is not None  # the hub opens one per tool call
        journal.record(GUARD.check("GET", f"https://forge.test/api/repos/{path}"))  # what the transport does
        return ToolOutput(Out(ok=True), Provenance(label, "public"))

    @tool(toolset="read", description="Answer without any request.")
    async def cached(self) -> ToolOutput[Out]:
        return ToolOutput(Out(ok=True), Provenance("forge://anything", "public"))


def hub() -> object:
    registry = Registry([ForgeConnector])
    config = load_config(env={"FORGE_TOKEN": "t0ken-value"}, ecosystem_env=registry.ecosystem_env())
    return build_server(config, registry=registry, caller=Caller("local", "memory", hub_policy(config)))


async def test_a_label_must_be_a_request_that_was_sent() -> None:
    async with Client(hub()) as client:  # type: ignore[arg-type]
        right = await client.call_tool("forge_read", {"path": "a/b/file", "label": "forge://repos/a/b/file"})
        wrong = await client.call_tool("forge_read", {"path": "a/b/file", "label": "forge://repos/c/d/file"})
        nothing_sent = await client.call_tool("forge_cached", {})
    assert not right.is_error
    assert right.meta["mcp_hub/provenance"]["resource"] == "forge://repos/a/b/file"  # type: ignore[index]
    assert wrong.is_error and (wrong.meta or {}).get("mcp_hub/error") == "internal"
    assert "incident" in wrong.content[0].text  # type: ignore[union-attr]
    assert not nothing_sent.is_error  # no guarded request, nothing to compare
