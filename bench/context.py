"""Context cost of each connector's catalog, in DeepSeek tokens (name + description + input schema).

For every installed connector: its default catalog (read-only, default
toolsets) and its full one (all toolsets, writes and destructive tools), plus
the five connectors' defaults together and discovery mode, against the targets
in DESIGN.md. No credentials needed: the catalog is built from the classes.

    python bench/context.py [--json]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import anyio

from mcp_hub.audit import AuditLog
from mcp_hub.connector import Connector
from mcp_hub.policy import Caller, DataBoundary, Policy
from mcp_hub.redaction import Redactor
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_catalog
from mcp_hub.tokens import tool_cost

TARGETS = {"github": 7000, "gitlab": 6000, "slack": 2000, "gdrive": 2000, "postgres": 1500}
DEFAULTS_TOGETHER_TARGET = 8000
DISCOVERY_TARGET = 1500
DEFAULT_POLICY = Policy()
FULL_POLICY = Policy(allow_writes=True, allow_destructive=True, toolsets=frozenset({"all"}))


def _server(registry: Registry, names: list[str], policy: Policy, discovery: bool = False) -> HubServer:
    by_connector: dict[str, dict[str, Connector[Any]]] = {}
    for name in names:
        cls = registry.classes[name]
        by_connector[name] = {"default": cls.__new__(cls)}  # never called: only the catalog is built
    tools, resources, _ = build_catalog(registry, by_connector)
    redactor = Redactor()
    return HubServer(
        tools=tools,
        resources=resources,
        connectors=[],
        statuses=[],
        default_caller=Caller("bench", "memory", policy),
        boundary=DataBoundary(),
        audit=AuditLog(None, redactor),
        redactor=redactor,
        discovery=discovery,
    )


def cost(server: HubServer) -> tuple[int, int]:
    listed = anyio.run(server.list_tools)
    return len(listed), sum(tool_cost(t.name, t.description, t.input_schema).tokens for t in listed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    registry = Registry.discover()
    names = sorted(registry.classes)
    rows = []
    for name in names:
        default_n, default_tokens = cost(_server(registry, [name], DEFAULT_POLICY))
        full_n, full_tokens = cost(_server(registry, [name], FULL_POLICY))
        rows.append(
            {
                "connector": name,
                "default_tools": default_n,
                "default_tokens": default_tokens,
                "full_tools": full_n,
                "full_tokens": full_tokens,
                "target_full": TARGETS.get(name),
            }
        )
    together_n, together = cost(_server(registry, names, DEFAULT_POLICY))
    discovery_n, discovery = cost(_server(registry, names, FULL_POLICY, discovery=True))
    if args.json:
        print(json.dumps({"connectors": rows, "defaults_together": together, "discovery": discovery}, indent=2))
        return
    print(f"{'connector':<10}{'default':>16}{'full':>16}{'target (full)':>15}")
    for row in rows:
        target = row["target_full"]
        verdict = "" if target is None else ("ok" if row["full_tokens"] <= target else "OVER")
        print(
            f"{row['connector']:<10}{row['default_tools']:>4} tools {row['default_tokens']:>5}"
            f"{row['full_tools']:>4} tools {row['full_tokens']:>5}{target or '-':>10} {verdict}"
        )
    print(f"defaults together: {together_n} tools, {together} tokens (target <= {DEFAULTS_TOGETHER_TARGET})")
    print(f"discovery mode:    {discovery_n} tools, {discovery} tokens (target <= {DISCOVERY_TARGET})")


if __name__ == "__main__":
    main()
