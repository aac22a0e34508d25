"""`mcp-hub servers status|diff|pin`: the command line only (argparse), so that building the CLI's parser
(every start-up, `serve` included) imports nothing of the federation; `pin_cli.run` does the work."""

from __future__ import annotations

from typing import Any


def add_commands(commands: Any) -> None:
    """The `servers` group, on the CLI's subparsers."""
    servers = commands.add_parser("servers", help="federated servers: pinned definitions (rug-pull defence)")
    group = servers.add_subparsers(dest="servers_command", required=True)
    for name, text in (
        ("status", "each federated server's pinned, new, changed, removed and flagged definitions"),
        ("diff", "what changed since each server was pinned, with the scanner's findings (exit 1 if anything)"),
        ("pin", "approve what the hub last saw a server list (shows the diff and asks)"),
    ):
        sub = group.add_parser(name, help=text)
        sub.add_argument("name", nargs="?", metavar="NAME", help="one server (default: all)")
        sub.add_argument("--config", metavar="FILE", help="TOML config file; the lock file is beside it")
        sub.add_argument(
            "--servers", metavar="FILE", help="also the servers of a Claude Desktop / Cursor / VS Code JSON file"
        )
        sub.add_argument(
            "--connect",
            action="store_true",
            help="list the configured servers now, as the hub does, before comparing (default: what the hub "
            "last saw; `pin NAME` connects by itself to a configured server never seen)",
        )
        if name == "status":
            sub.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "pin":
            sub.add_argument("--yes", action="store_true", help="do not ask (flagged ones need --approve-flagged)")
            sub.add_argument(
                "--approve-flagged", action="store_true", help="also approve definitions the scanner flagged"
            )
