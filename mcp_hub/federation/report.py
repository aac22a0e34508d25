"""Federated servers in the CLI: `--servers FILE`, and their state in `config check` and `mcp-hub tools`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp_hub.config import HubConfig
    from mcp_hub.server import HubServer

log = logging.getLogger(__name__)

#: `config check` and `mcp-hub tools` wait this long at most for servers to answer their first listing.
CHECK_WAIT_S = 20.0


def with_client_servers(
    sections: dict[str, Any], path: str | Path, taken: Iterable[str] = (), env: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """`[servers]` sections plus a Claude Desktop / VS Code / Cursor servers file, and the problems.

    A TOML section named like a file's entry, without `command`/`url`, adds its settings to it (trust,
    `read_only`, `writes`, limits). A file's entry named like a connector (`github`, common in such
    files) or `hub` becomes `<name>-mcp` (logged), so the file works unchanged.
    """
    from mcp_hub.federation.settings import RESERVED_NAMES, read_client_servers

    reserved = set(taken) | RESERVED_NAMES
    merged = dict(sections)
    problems: list[str] = []
    for name, section in read_client_servers(path, env).items():
        if name in reserved:
            log.warning("--servers %s: %s is renamed %s-mcp (%s is a connector's name)", path, name, name, name)
            name = f"{name}-mcp"
        extra = sections.get(name)
        if isinstance(extra, dict) and ("command" in extra or "url" in extra):
            problems.append(
                f"servers.{name}: also in --servers {Path(path).name}; keep one (a [servers.{name}] without "
                "command/url adds settings to the file's entry)"
            )
            continue
        merged[name] = section | (extra if isinstance(extra, dict) else {})
    return merged, problems


def add_servers_file(config: HubConfig, path: str | Path, taken: Iterable[str] = ()) -> None:
    """Add a servers file's entries to an already loaded `config` (the CLI reads it in `load_config`)."""
    from mcp_hub.config import problems_error
    from mcp_hub.federation.settings import parse_servers

    raw, problems = with_client_servers({}, path, taken)
    clashing = sorted(set(raw) & set(config.servers))
    problems += [f"servers.{name}: also in --servers {Path(path).name}; keep one" for name in clashing]
    servers, more = parse_servers(raw)
    if problems or more:
        raise problems_error(problems + more)
    config.servers.update(servers)


async def settle(server: HubServer, connect: bool) -> list[dict[str, Any]]:
    """Each server's status, after waiting (if `connect`) for its first listing; call inside `running()`."""
    federation = server.federation
    if federation is None:
        return []
    if connect:
        wait = min(CHECK_WAIT_S, max((link.settings.timeout_s for link in federation.links.values()), default=0))
        await federation.wait_listed(max(wait, 5.0))
    return federation.status()


def render(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in rows:
        line = f"  server  {row['server']}: {row['state']}"
        if row["state"] != "disabled":
            trust = "trusted" if row.get("trusted") else "untrusted"
            line += f" ({row.get('transport')}, {trust}), {row.get('tools', 0)} tools"
            if row.get("catalog") == "cache":
                line += " from the last known catalog"
            if row.get("hidden_by_policy"):
                line += (
                    f" ({row['hidden_by_policy']} hidden by the hub's policy: an untrusted server's tools are writes "
                    f"unless servers.{row['server']}.read_only names them)"
                )
        if row.get("detail"):
            line += f": {row['detail']}"
        lines.append(line)
        lines.extend(f"      withheld {w['name']}: {w['reason']}" for w in row.get("withheld", []))
    return lines


def failed(rows: list[dict[str, Any]]) -> bool:
    return any(row["state"] not in ("ready", "disabled") for row in rows)
