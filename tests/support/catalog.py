"""The hub's full catalog (every connector, every toolset, writes allowed), built from the classes alone."""

from __future__ import annotations

from typing import Any

import anyio
from mcp_types import Tool as MCPTool

from mcp_hub.audit import AuditLog
from mcp_hub.connector import Connector
from mcp_hub.policy import Caller, DataBoundary, Policy
from mcp_hub.redaction import Redactor
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_catalog

FULL_POLICY = Policy(allow_writes=True, allow_destructive=True, toolsets=frozenset({"all"}))


def full_catalog() -> list[MCPTool]:
    """Every tool of every installed connector, as a client would list it (no credentials, nothing opened)."""
    registry = Registry.discover(None)
    by_connector: dict[str, dict[str, Connector[Any]]] = {}
    for name, cls in registry.classes.items():
        by_connector[name] = {"default": cls.__new__(cls)}  # only the catalog is built
    tools, resources, _ = build_catalog(registry, by_connector)
    redactor = Redactor()
    server = HubServer(
        tools=tools,
        resources=resources,
        connectors=[],
        statuses=[],
        default_caller=Caller("test", "memory", FULL_POLICY),
        boundary=DataBoundary(),
        audit=AuditLog(None, redactor),
        redactor=redactor,
    )
    return list(anyio.run(server.list_tools))
