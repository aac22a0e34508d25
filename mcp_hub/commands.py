"""Commands that plug into `mcp-hub`: the `mcp_hub.commands` entry-point group.

An entry point's name is the top-level command it adds; its value is a registration function that
adds that one parser to the CLI's subparsers and sets `handler` (namespace -> exit code) as its default:

    [project.entry-points."mcp_hub.commands"]
    postgres = "connectors.postgres.commands:register"

    def register(commands: Subparsers) -> None:
        parser = commands.add_parser("postgres", help="...")
        parser.set_defaults(handler=run)

The core never imports them on its own: `mcp-hub serve` loads none (start-up time), `mcp-hub review …`
loads `review` only, and `mcp-hub --help` (or an unknown word) loads them all so the help lists every command.
A handler may raise `ConfigError` (exit 2, one line) like the core's own commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from mcp_hub.config import HubConfig, load_config

if TYPE_CHECKING:
    from mcp_hub.registry import Registry

GROUP = "mcp_hub.commands"
DISTRIBUTION = "mcp-hub-selfhosted"

#: What a registration function is given: the CLI's `add_subparsers()` result.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Register = Callable[[Subparsers], None]
Handler = Callable[[argparse.Namespace], int]


def command_points() -> dict[str, EntryPoint]:
    """The installed commands by name; in a source checkout, also the ones its pyproject.toml declares.

    The checkout's declarations matter for an editable install whose metadata predates a command
    (entry points are written at install time): the command works before the next `pip install -e .`.
    """
    points = {point.name: point for point in entry_points(group=GROUP)}
    for point in _checkout_points():
        points.setdefault(point.name, point)
    return points


def _checkout_points() -> list[EntryPoint]:
    import tomllib

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return []
    if project.get("name") != DISTRIBUTION:
        return []
    declared = project.get("entry-points", {}).get(GROUP, {})
    return [EntryPoint(name, value, GROUP) for name, value in declared.items()]


def register_commands(commands: Subparsers, wanted: Iterable[str] | None = None) -> list[str]:
    """Add the plug-in commands named (all of them when `wanted` is None); returns the names added.

    A command that cannot load (its extra is not installed, a broken plug-in) is left out with one line
    on stderr, so the others and the core still work.
    """
    points = command_points()
    names = sorted(points) if wanted is None else [n for n in wanted if n in points]
    added: list[str] = []
    for name in names:
        try:
            register: Register = points[name].load()
        except Exception as exc:  # a plug-in's import error must not take the whole CLI down
            print(f"mcp-hub: command {name!r} is not available ({type(exc).__name__}: {exc})", file=sys.stderr)
            continue
        register(commands)
        added.append(name)
    return added


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML config file (default: $MCP_HUB_CONFIG)")


def load_hub(args: argparse.Namespace) -> tuple[HubConfig, Registry]:
    """The configuration and the connector registry, with the CLI's policy flags applied when present
    (`--config`, `--servers`, `--toolsets`, `--tools`, `--exclude-tools`, `--allow-writes`, `--discovery`)."""
    from mcp_hub.registry import Registry

    # Registry first: it knows the ecosystem variables (DATABASE_URL, …) of installed connectors.
    registry = Registry.discover()
    # Every problem at once: the hub's own settings and every connector section's.
    config = load_config(
        args.config,
        ecosystem_env=registry.ecosystem_env(),
        check_connectors=registry.problems,
        servers_file=getattr(args, "servers", None),  # `--servers FILE`: a client's MCP servers JSON
        reserved_names=registry.manifests,
    )
    if config.hub.connectors is not None:
        registry = Registry([m for n, m in registry.manifests.items() if n in set(config.hub.connectors)])
    if getattr(args, "toolsets", None):
        config.hub.toolsets = [t.strip() for t in args.toolsets.split(",") if t.strip()]
    tools = _words(getattr(args, "tools", None))
    if tools:
        config.hub.allow = tools
        if not getattr(args, "toolsets", None):
            config.hub.toolsets = ["all"]  # the named tools wherever they are, as github-mcp-server does
    config.hub.deny = [*config.hub.deny, *_words(getattr(args, "exclude_tools", None))]
    if getattr(args, "allow_writes", False):
        config.hub.allow_writes = True
    if getattr(args, "discovery", False):
        config.hub.discovery = True
    return config, registry


def _words(value: Any) -> list[str]:
    return [t.strip() for t in (value or "").split(",") if t.strip()]
