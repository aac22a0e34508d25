"""Federated servers in the CLI: `--servers FILE`, and their state in `config check` and `mcp-hub tools`."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mcp_hub.errors import ConfigError

if TYPE_CHECKING:
    from mcp_hub.config import HubConfig
    from mcp_hub.server import HubServer

log = logging.getLogger(__name__)

#: `config check` and `mcp-hub tools` wait this long at most for servers to answer their first listing.
CHECK_WAIT_S = 20.0


def add_servers_file(config: HubConfig, path: str, taken: Iterable[str] = ()) -> list[str]:
    """Merge a Claude Desktop / VS Code / Cursor servers file into `config.servers`.

    A name that is a connector's (`github`, a common one in such files) or `hub` becomes `<name>-mcp`,
    so the file works unchanged; the renames are returned (and logged) so nobody is surprised.
    """
    from mcp_hub.config import problems_error
    from mcp_hub.federation.settings import RESERVED_NAMES, parse_servers, read_client_servers

    reserved = set(taken) | RESERVED_NAMES
    raw: dict[str, Any] = {}
    renames: list[str] = []
    for name, section in read_client_servers(path).items():
        if name in reserved:
            renames.append(f"{name} -> {name}-mcp (its tools are {name}-mcp_<tool>)")
            name = f"{name}-mcp"
        raw[name] = section
    for rename in renames:
        log.warning("--servers %s: renamed %s: %s is a connector's name", path, rename, rename.split()[0])
    clashing = sorted(set(raw) & set(config.servers))
    if clashing:
        raise ConfigError(f"--servers {path}: {', '.join(clashing)} also configured in [servers]: keep one")
    servers, problems = parse_servers(raw)
    if problems:
        raise problems_error(problems)
    config.servers.update(servers)
    return renames


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
        if row.get("detail"):
            line += f": {row['detail']}"
        lines.append(line)
        lines.extend(f"      withheld {w['name']}: {w['reason']}" for w in row.get("withheld", []))
    return lines


def failed(rows: list[dict[str, Any]]) -> bool:
    return any(row["state"] not in ("ready", "disabled") for row in rows)
