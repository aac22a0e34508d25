"""Tools and resources published from the catalog cache, whose connector is imported on first use.

A `ConnectorLoader` holds what resolving the config produced (each instance's
validated settings); `load()` imports the connector's class, makes its
instances and builds its catalog, once. `DeferredTool` is the SDK tool the hub
registers from the cache: it lists exactly what the eager tool would (its
schemas come from the cache) and, on its first call, asks the hub for the real
tool and runs that.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver.tools import Tool

from mcp_hub.catalog import HubPrompt, HubResource, HubTool, ToolEntry, connector_catalog
from mcp_hub.connector import Connector, ConnectorContext, ConnectorSettings, ResourceSpec
from mcp_hub.policy import ToolFacts
from mcp_hub.registry import Registry


@dataclass(frozen=True)
class LoadedConnector:
    instances: dict[str, Connector[Any]]
    tools: dict[str, HubTool]
    resources: dict[str, HubResource]
    prompts: list[HubPrompt]


@dataclass
class ConnectorLoader:
    """Imports connector `name` and builds its instances and catalog on first `load()`."""

    registry: Registry
    name: str
    settings: dict[str, ConnectorSettings]
    context: ConnectorContext
    loaded: LoadedConnector | None = field(default=None, init=False)
    #: Its instances are registered with the hub (and open, when the hub is running).
    opened: bool = field(default=False, init=False)

    def load(self) -> LoadedConnector:
        if self.loaded is None:
            cls = self.registry.connector_class(self.name)
            instances = {name: cls(name, settings, self.context) for name, settings in self.settings.items()}
            tools, resources, prompts = connector_catalog(self.name, cls, instances)
            self.loaded = LoadedConnector(
                instances,
                {tool.facts.name: tool for tool in tools},
                {resource.facts.name: resource for resource in resources},
                prompts,
            )
        return self.loaded


@dataclass(frozen=True)
class DeferredToolEntry(ToolEntry):
    """A catalog tool known from the cache: its facts, spec and published schemas."""

    parameters: dict[str, Any]
    output_schema: dict[str, Any] | None
    loader: ConnectorLoader


@dataclass(frozen=True)
class DeferredResourceEntry:
    """A catalog resource template known from the cache."""

    facts: ToolFacts
    spec: ResourceSpec
    uri_template: str
    loader: ConnectorLoader


async def _never_called(**_: Any) -> None:  # pragma: no cover - DeferredTool.run never calls fn
    raise RuntimeError("a deferred tool runs through its real tool")


class DeferredTool(Tool):
    """An SDK tool listed from the cache; its first call builds the real tool and runs it."""

    cached_output_schema: dict[str, Any] | None = None
    materialize: Callable[[str], Awaitable[Tool]]

    @property
    def output_schema(self) -> dict[str, Any] | None:
        return self.cached_output_schema

    @classmethod
    def from_entry(cls, entry: DeferredToolEntry, materialize: Callable[[str], Awaitable[Tool]]) -> DeferredTool:
        # model_construct: the fields are the cache's, already what the eager tool would hold.
        return cls.model_construct(
            fn=_never_called,
            name=entry.facts.name,
            title=entry.spec.title,
            description=entry.spec.description,
            parameters=entry.parameters,
            is_async=True,
            context_kwarg="ctx",
            resolved_params={},
            resolver_plans={},
            annotations=entry.annotations,
            icons=None,
            meta=None,
            cached_output_schema=entry.output_schema,
            materialize=materialize,
        )

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        real = await self.materialize(self.name)
        return await real.run(arguments, context, convert_result=convert_result)
