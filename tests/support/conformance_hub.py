"""A hub serving the conformance suite's fixtures over Streamable HTTP on 127.0.0.1 (tests only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp_hub.config import load_config
from mcp_hub.http import build_http_app
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy
from tests.support.conformance_connector import ConformanceConnector, JsonSchemaConnector

#: The fixture connector's secret (masked by the hub wherever it would show).
FIXTURE_TOKEN = "conformance-secret-0123456789"


def conformance_server(audit_log: Path, extra_env: dict[str, str] | None = None, transport: str = "http") -> Any:
    """The hub with the fixtures (every toolset on), and its config and policy."""
    registry = Registry([ConformanceConnector, JsonSchemaConnector])
    env = {
        "MCP_HUB_TEST__ENABLED": "1",
        "MCP_HUB_TEST__TOKEN": FIXTURE_TOKEN,
        "MCP_HUB_JSON__ENABLED": "1",
        "MCP_HUB_TOOLSETS": "all",
        "MCP_HUB_AUDIT_LOG": str(audit_log),
    } | (extra_env or {})
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    policy = hub_policy(config)
    server = build_server(config, registry=registry, caller=Caller("local", transport, policy))
    return server, config, policy


def conformance_hub(audit_log: Path, extra_env: dict[str, str] | None = None) -> tuple[HubServer, Any]:
    """The hub (every fixture toolset on, no tokens, loopback) and its Streamable HTTP app."""
    server, config, policy = conformance_server(audit_log, extra_env)
    return server, build_http_app(server, config, policy, "http", "127.0.0.1", 0)
