"""A federated server's tools as hub tools: names, policy facts, published annotations, SDK tools.

Whether a federated tool writes is decided here, once, for the policy, the flow guard (which reads
the published `readOnlyHint`) and discovery alike:
- a tool matched by the server's `writes` globs is a write, whatever it claims;
- else a tool matched by `read_only` globs is read-only (the operator vouches for it);
- else a `trusted` server's own `readOnlyHint: true` is believed;
- everything else is a write. A write is destructive unless a trusted server says
  `destructiveHint: false` (an untrusted server's comforting claims are not believed either).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from mcp import types as mt
from mcp.server.mcpserver.tools import Tool

from mcp_hub.catalog import ToolEntry
from mcp_hub.connector import ToolSpec
from mcp_hub.federation.gate import Withheld
from mcp_hub.federation.settings import ServerSettings
from mcp_hub.policy import ToolFacts

#: What MCP allows in a tool name (SEP-986), and its length limit.
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")

Forward = Callable[[str, dict[str, Any], Any], Awaitable[mt.CallToolResult]]


@dataclass(frozen=True)
class FederatedEntry(ToolEntry):
    """A hub catalog entry for one federated tool."""

    server: str
    upstream_name: str


def hub_name(server: str, tool: str) -> str:
    return f"{server}_{tool}"


def name_problem(server: str, tool: str) -> str | None:
    if not _TOOL_NAME.fullmatch(hub_name(server, tool)):  # not `match`: `$` passes a final newline
        return "its name is not a valid MCP tool name once namespaced (letters, digits, _ . -; 128 at most)"
    return None


def classify(settings: ServerSettings, tool: mt.Tool) -> tuple[bool, bool]:
    """(read_only, destructive) as the hub enforces them."""
    hints = tool.annotations or mt.ToolAnnotations()
    name = tool.name
    if any(fnmatchcase(name, g) for g in settings.writes):
        read_only = False
    elif any(fnmatchcase(name, g) for g in settings.read_only):
        read_only = True
    else:
        read_only = settings.trusted and hints.read_only_hint is True
    destructive = not read_only and not (settings.trusted and hints.destructive_hint is False)
    return read_only, destructive


def entry(server: str, settings: ServerSettings, tool: mt.Tool) -> FederatedEntry:
    read_only, destructive = classify(settings, tool)
    toolset = settings.toolset_of(tool.name)
    hints = tool.annotations or mt.ToolAnnotations()
    facts = ToolFacts(
        name=hub_name(server, tool.name),
        connector=server,
        toolset=toolset,
        read_only=read_only,
        destructive=destructive,
        default_toolset=settings.in_defaults(toolset),
    )
    spec = ToolSpec(
        name=tool.name,
        description=tool.description or "",
        toolset=toolset,
        read_only=read_only,
        destructive=destructive,
        idempotent=bool(hints.idempotent_hint),
        open_world=hints.open_world_hint is not False,
        title=tool.title or hints.title,
    )
    return FederatedEntry(facts, spec, server, tool.name)


def admissible(server: str, settings: ServerSettings, tools: list[mt.Tool]) -> tuple[list[mt.Tool], list[Withheld]]:
    """The tools the server's own config admits, and the ones whose names cannot be published."""
    kept: list[mt.Tool] = []
    refused: list[Withheld] = []
    seen: set[str] = set()
    for tool in tools:
        if not settings.admits(tool.name):
            continue
        problem = name_problem(server, tool.name)
        if problem is None and tool.name in seen:
            problem = "the server lists this name twice"
        if problem is not None:
            refused.append(Withheld(tool.name, problem))
            continue
        seen.add(tool.name)
        kept.append(tool)
    return kept, refused


async def _never_called(**_: Any) -> None:  # pragma: no cover - FederatedTool.run never calls fn
    raise RuntimeError("a federated tool runs on its server")


class FederatedTool(Tool):
    """The SDK tool the hub registers for one federated tool: listed as the hub publishes it, run upstream."""

    upstream_output_schema: dict[str, Any] | None = None
    upstream_name: str = ""
    forward: Forward

    @property
    def output_schema(self) -> dict[str, Any] | None:
        return self.upstream_output_schema

    @classmethod
    def build(cls, item: FederatedEntry, tool: mt.Tool, forward: Forward) -> FederatedTool:
        hints = tool.annotations or mt.ToolAnnotations()
        annotations = mt.ToolAnnotations(
            title=item.spec.title,
            read_only_hint=item.spec.read_only,
            destructive_hint=item.spec.destructive if not item.spec.read_only else None,
            idempotent_hint=hints.idempotent_hint if not item.spec.read_only else None,
            open_world_hint=hints.open_world_hint,
        )
        return cls.model_construct(
            fn=_never_called,
            name=item.facts.name,
            title=tool.title,
            description=tool.description or "",
            parameters=dict(tool.input_schema),
            is_async=True,
            context_kwarg="ctx",
            resolved_params={},
            resolver_plans={},
            annotations=annotations,
            icons=tool.icons,
            meta=None,
            upstream_output_schema=dict(tool.output_schema) if tool.output_schema else None,
            upstream_name=tool.name,
            forward=forward,
        )

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        # Arguments go as they came: the server validates them against the schema it published.
        return await self.forward(self.upstream_name, arguments, context)
