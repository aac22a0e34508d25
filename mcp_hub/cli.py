"""The `mcp-hub` command line.

    mcp-hub serve [--transport stdio|sse|http] [--host H] [--port P] [--config FILE]
                  [--toolsets LIST] [--tools LIST] [--exclude-tools LIST] [--allow-writes] [--discovery]
    mcp-hub config check [--config FILE] [--json]
    mcp-hub completion bash|zsh|fish
    mcp-hub tools [--json] [--config FILE] [--toolsets LIST] [--tools LIST] [--exclude-tools LIST]
                  [--allow-writes] [--discovery]
    mcp-hub servers status|diff|pin [NAME] [--config FILE] [--servers FILE] [--connect] [--yes] [--approve-flagged]

The other commands plug in through the `mcp_hub.commands` entry-point group (mcp_hub/commands.py):
`postgres` (connectors/postgres/commands.py), `approvals` (mcp_hub/approvals/commands.py), `model`, `agent`,
`review`, `triage`, `webhook` (model/cli.py).
`mcp-hub --help` lists them all; `serve` imports none of them.

Logs go to stderr, never stdout (stdout is the stdio transport).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mcp_hub import __version__
from mcp_hub.commands import Handler, command_points, load_hub, register_commands
from mcp_hub.config import HubConfig
from mcp_hub.errors import ConfigError, HubError
from mcp_hub.logs import add_log_arguments, configure, progress
from mcp_hub.redaction import Redactor

if TYPE_CHECKING:
    from mcp_hub.server import HubServer

log = logging.getLogger("mcp_hub")


CORE_COMMANDS = ("serve", "config", "tools", "completion", "servers")
SHELLS = ("bash", "zsh", "fish")  # mcp_hub.completion.SHELLS, without importing it for every start-up


def _parser(plugins: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The CLI with the plug-in commands named in `plugins` (all when None, none when empty)."""
    parser = argparse.ArgumentParser(prog="mcp-hub", description="A self-hosted MCP tool hub.")
    parser.add_argument("--version", action="version", version=f"mcp-hub {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser, policy: bool = True) -> None:
        sub.add_argument("--config", metavar="FILE", help="TOML config file (default: $MCP_HUB_CONFIG)")
        sub.add_argument(
            "--servers",
            metavar="FILE",
            help="MCP servers to attach behind the hub, from a Claude Desktop / Cursor (mcpServers) "
            "or VS Code (servers) JSON file",
        )
        if policy:
            sub.add_argument(
                "--toolsets",
                metavar="LIST",
                help="comma-separated: all, default, <connector>, <connector>.<toolset> (default: hub.toolsets)",
            )
            sub.add_argument(
                "--tools",
                metavar="LIST",
                help="comma-separated tool names or globs: only these (like github-mcp-server's flag of that name: "
                "without --toolsets, looked for in all toolsets; writes still need --allow-writes)",
            )
            sub.add_argument(
                "--exclude-tools", metavar="LIST", help="comma-separated tool names or globs to hide (adds to hub.deny)"
            )
            sub.add_argument("--allow-writes", action="store_true", help="list and allow write tools")
            sub.add_argument("--discovery", action="store_true", help="expose hub_find_tools + hub_call_tool only")

    serve = commands.add_parser("serve", help="run the MCP server")
    common(serve)
    serve.add_argument(
        "--transport",
        choices=["stdio", "sse", "http"],
        default="stdio",
        help="stdio (default), sse (/sse, legacy clients) or http (Streamable HTTP at /mcp)",
    )
    serve.add_argument("--host", help="bind address for sse/http (default: http.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port for sse/http (default: http.port, 8000)")
    add_log_arguments(serve, level="hub.log_level")
    serve.add_argument(
        "--console", action="store_true", help="serve the web console at /console (http or sse transport; hub.console)"
    )

    config = commands.add_parser("config", help="inspect the configuration")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser("check", help="what is enabled, what is not and why (never prints secrets)")
    common(check, policy=False)
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--no-connect", action="store_true", help="skip connecting to services")

    tools = commands.add_parser("tools", help="the tool catalog a client sees, with its cost in DeepSeek tokens")
    common(tools)
    tools.add_argument("--json", action="store_true", help="machine-readable output")

    completion = commands.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description="Print a completion script generated from this CLI's commands. Install with e.g. "
        "`mcp-hub completion bash > ~/.local/share/bash-completion/completions/mcp-hub`, "
        "`mcp-hub completion zsh > ~/.zfunc/_mcp-hub` (fpath), "
        "`mcp-hub completion fish > ~/.config/fish/completions/mcp-hub.fish`.",
    )
    completion.add_argument("shell", choices=SHELLS)  # mcp_hub.completion is imported only to print one

    from mcp_hub.federation import pin_args  # argparse only: the federation loads for `servers` alone

    pin_args.add_commands(commands)

    # Every other command (postgres, model, agent, review, …) plugs in through the `mcp_hub.commands`
    # entry-point group; only the ones this run can need are imported (never any for `serve`).
    register_commands(commands, plugins)
    return parser


def _plugins_for(argv: Sequence[str]) -> list[str] | None:
    """The plug-in commands a command line can need: none for a core command, the one it names, or all
    (for `--help`, no command or a misspelt one: the help and the error list every command)."""
    first = argv[0] if argv else ""
    if first == "completion":
        return None  # the script lists every command
    if first in CORE_COMMANDS:
        return []
    if first and not first.startswith("-") and first in command_points():
        return [first]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser(_plugins_for(argv)).parse_args(argv)
    redactor = Redactor()
    try:
        if args.command == "serve":
            return _serve(args, redactor)
        if args.command == "config":
            return _config_check(args, redactor)
        if args.command == "tools":
            return _tools(args)
        if args.command == "servers":
            from mcp_hub.federation import pin_cli

            return pin_cli.run(args, redactor)
        if args.command == "completion":
            from mcp_hub.completion import script

            print(script(_parser(), args.shell), end="")
            return 0
        handler: Handler | None = getattr(args, "handler", None)  # set by the plug-in's registration function
        if handler is None:
            raise ConfigError(f"command {args.command!r} registered no handler (its set_defaults(handler=...))")
        configure(args)  # the command's --log-format/--log-level (add_log_arguments), else its defaults
        return handler(args)
    except ConfigError as exc:
        print(f"mcp-hub: {redactor.redact(exc.message)}", file=sys.stderr)
        return 2
    except ServeError as exc:
        print(f"mcp-hub: {redactor.redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _build(
    args: argparse.Namespace, transport: str = "stdio", *, use_catalog_cache: bool = False
) -> tuple[HubConfig, HubServer, list[str]]:
    """The config, the hub, and the installed connectors' names."""
    from mcp_hub.policy import Caller
    from mcp_hub.server import build_server, hub_policy

    config, registry = load_hub(args)
    caller = Caller("local", transport, hub_policy(config))
    # Connectors nothing configures are never imported: an assistant spawns this per session.
    # `serve` also publishes tools from the catalog cache and imports a connector on its first call.
    server = build_server(
        config, registry=registry, caller=caller, include_unconfigured=False, use_catalog_cache=use_catalog_cache
    )
    if getattr(args, "toolsets", None):
        _check_toolsets(config.hub.toolsets, server, registry)
    for flag in ("tools", "exclude_tools"):
        _check_tool_names(flag, getattr(args, flag, None), server, registry)
    return config, server, sorted(registry.manifests)


def _check_tool_names(flag: str, given: str | None, server: HubServer, registry: Any) -> None:
    """`--tools` / `--exclude-tools` name tools that exist (globs are taken as they are): a typo would
    otherwise serve nothing, or hide nothing, without a word."""
    built = {tool.facts.connector for tool in server.hub_tools.values()}
    unknown = [
        name
        for name in (n.strip() for n in (given or "").split(","))
        if name
        and not any(ch in name for ch in "*?[")
        and name not in server.hub_tools
        # a connector that is installed but not configured has no catalog here: its names cannot be checked
        and not (name.split("_", 1)[0] in registry.manifests and name.split("_", 1)[0] not in built)
        # nor can a federated server's, whose catalog arrives after start-up
        and not (server.federation is not None and name.split("_", 1)[0] in server.federation.links)
    ]
    if unknown:
        raise ConfigError(f"--{flag.replace('_', '-')}: unknown tool {', '.join(unknown)} (see `mcp-hub tools`)")


def _check_toolsets(chosen: list[str], server: HubServer, registry: Any) -> None:
    """`--toolsets` names only what exists: all, default, a connector, a toolset or connector.toolset."""
    facts = [t.facts for t in server.hub_tools.values()] + [r.facts for r in server.hub_resources.values()]
    facts += [p.facts for p in server.hub_prompts.values()]
    built = {f.connector for f in facts}
    valid = {"all", "default", *registry.manifests, *(f.toolset for f in facts)}
    valid |= {f"{f.connector}.{f.toolset}" for f in facts}
    for name, link in (server.federation.links if server.federation is not None else {}).items():
        toolsets = [*link.settings.toolsets, "tools"]  # known from the config, before its catalog arrives
        valid |= {name, *toolsets, *(f"{name}.{t}" for t in toolsets)}
    # A connector that is installed but not configured has no catalog here: its toolsets cannot be checked.
    unknown = [
        name
        for name in chosen
        if name not in valid
        and not (name.partition(".")[0] in registry.manifests and name.partition(".")[0] not in built)
    ]
    if unknown:
        raise ConfigError(f"--toolsets: unknown {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")


#: `hub.console` (the config, not `--console`) with the stdio transport: said on stderr, and stdio still serves.
STDIO_CONSOLE = (
    "hub.console is on, but the console needs --transport http (it is served beside /mcp): "
    "no console over stdio; serve with --transport http to use it"
)


def _serve(args: argparse.Namespace, redactor: Redactor) -> int:
    if args.port is not None and not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port}: a port is a number from 0 to 65535")
    if getattr(args, "console", False) and args.transport == "stdio":
        # HTTP (or the legacy SSE transport, the same app), as `hub.console` in the config.
        raise ConfigError("--console needs --transport http (the console is served beside /mcp)")
    config, server, installed = _build(args, args.transport, use_catalog_cache=True)
    configure(args, level=config.hub.log_level, fmt=config.hub.log_format, redactor=server.redactor)
    if args.transport == "stdio":
        import anyio

        if config.hub.console:  # from the config: warned, not refused (one file may serve both transports)
            log.warning(STDIO_CONSOLE)
        progress(server.redactor.redact(_ready_line(server, installed, "stdio")))
        anyio.run(server.run_stdio_async)
        return 0
    from mcp_hub.http import build_http_app, is_loopback
    from mcp_hub.server import hub_policy

    host = args.host or config.http.host
    port = args.port if args.port is not None else config.http.port
    if not is_loopback(host) and not config.http.authenticated:
        raise ConfigError(
            f"refusing to bind {host} without authentication: configure http.tokens or http.oidc "
            "(e.g. MCP_HUB_HTTP__TOKENS__ME__TOKEN_FILE=/path/to/token) or bind 127.0.0.1"
        )
    if getattr(args, "console", False):
        config.hub.console = True
    app = build_http_app(server, config, hub_policy(config), args.transport, host, port)
    path = "/sse" if args.transport == "sse" else "/mcp"
    sock = _bind(host, port)  # before anything says "listening"
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    log.info("mcp-hub %s listening on http://%s:%d%s", __version__, shown_host, bound_port, path)
    progress(server.redactor.redact(_ready_line(server, installed, f"http://{shown_host}:{bound_port}{path}")))

    import anyio
    import uvicorn

    async def run() -> None:
        uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", log_config=None))
        async with server.running():
            await uv.serve(sockets=[sock])

    anyio.run(run)
    return 0


class ServeError(Exception):
    """`serve` cannot start (the address cannot be bound): one line, exit code 1."""


def _bind(host: str, port: int) -> Any:
    """A listening socket on host:port, or `ServeError` saying why not (bad host, port in use, no permission)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise ServeError(f"cannot listen on {host}:{port}: unknown host ({exc})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def _ready_line(server: HubServer, installed: list[str], where: str) -> str:
    """One line for stderr: what serves where, what is enabled, what is not and why."""
    enabled = [f"{s.connector}/{s.instance}" for s in server.statuses if s.enabled]
    disabled = [f"{s.connector}/{s.instance} ({s.reason})" for s in server.statuses if not s.enabled]
    unconfigured = [name for name in installed if name not in {s.connector for s in server.statuses}]
    tools = len(server.visible_tools(server.default_caller))
    line = f"mcp-hub {__version__} ready on {where}: {tools} tools"
    line += f"; enabled: {', '.join(enabled) or 'none'}"
    if disabled:
        line += f"; disabled: {'; '.join(disabled)}"
    if unconfigured:
        line += f"; not configured: {', '.join(unconfigured)} (`mcp-hub config check` says what each needs)"
    if server.federation is not None and server.federation.links:
        line += f"; federated servers (connecting in the background): {', '.join(server.federation.links)}"
    return line


def _config_check(args: argparse.Namespace, redactor: Redactor) -> int:
    import anyio

    from mcp_hub.server import build_server

    config, registry = load_hub(args)
    server = build_server(config, registry=registry)
    report: dict[str, Any] = {
        "source": config.source,
        "connectors": [],
        "policy": {
            "allow_writes": config.hub.allow_writes,
            "allow_destructive": config.hub.allow_destructive,
            "toolsets": config.hub.toolsets,
            "discovery": config.hub.discovery,
            "http_tokens": sorted(config.http.tokens),
            "http_oidc_issuer": config.http.oidc.issuer if config.http.oidc is not None else "",
            "state": _state_kind(config.hub.state_url),
            "audit_log": str(config.hub.audit_log or ""),
        },
    }
    by_key = {(c.name, c.instance): c for c in server.connectors}

    async def diagnose() -> None:
        from mcp_hub.federation.report import settle

        async with server.running():
            report["servers"] = await settle(server, connect=not args.no_connect)
            for status in server.statuses:
                entry: dict[str, Any] = {
                    "connector": status.connector,
                    "instance": status.instance,
                    "enabled": status.enabled,
                }
                if status.reason:
                    entry["reason"] = status.reason
                connector = by_key.get((status.connector, status.instance))
                if connector is not None and not args.no_connect:
                    try:
                        entry["warnings"] = await connector.diagnose()
                    except HubError as exc:  # it cannot work at all: say why, and fail the check
                        entry["error"] = exc.message
                report["connectors"].append(entry)

    anyio.run(diagnose)
    text = json.dumps(report, indent=2) if args.json else _render_check(report)
    print(server.redactor.redact(text))
    from mcp_hub.federation.report import failed

    servers_failed = not args.no_connect and failed(report["servers"])
    return 1 if servers_failed or any("error" in entry for entry in report["connectors"]) else 0


def _render_check(report: dict[str, Any]) -> str:
    lines = [f"configuration: {report['source']}"]
    for entry in report["connectors"]:
        state = "enabled " if entry["enabled"] else "disabled"
        line = f"  {state} {entry['connector']}/{entry['instance']}"
        if entry.get("reason"):
            line += f": {entry['reason']}"
        lines.append(line)
        lines.extend(f"      warning: {w}" for w in entry.get("warnings", []))
        if entry.get("error"):
            lines.append(f"      error: {entry['error']}")
    from mcp_hub.federation.report import render

    lines += render(report.get("servers", []))
    policy = report["policy"]
    lines.append(
        f"policy: writes {'allowed' if policy['allow_writes'] else 'off'}, "
        f"destructive {'allowed' if policy['allow_destructive'] else 'off'}, toolsets {','.join(policy['toolsets'])}"
        + (", discovery mode" if policy["discovery"] else "")
    )
    unauthenticated = not policy["http_tokens"] and not policy["http_oidc_issuer"]
    lines.append(
        f"http tokens: {', '.join(policy['http_tokens']) or ('none (loopback only)' if unauthenticated else 'none')}"
    )
    if policy["http_oidc_issuer"]:
        lines.append(f"http oidc: tokens from {policy['http_oidc_issuer']}")
    lines.append(f"shared state: {policy['state']}")
    return "\n".join(lines)


def _tools(args: argparse.Namespace) -> int:
    import anyio

    from mcp_hub.tokens import tool_cost

    _, server, _ = _build(args)

    async def listing() -> tuple[list[Any], list[dict[str, Any]]]:
        if server.federation is None:
            return await server.list_tools(), []
        from mcp_hub.federation.report import settle

        async with server.running():  # federated servers' catalogs, as a client would get them
            rows = await settle(server, connect=True)
            return await server.list_tools(), rows

    listed, servers = anyio.run(listing)
    costs = [tool_cost(t.name, t.description, t.input_schema) for t in listed]
    total = sum(c.tokens for c in costs)
    if args.json:
        rows = [
            {
                "name": t.name,
                "description": t.description,
                "tokens": c.tokens,
                "read_only": bool(t.annotations and t.annotations.read_only_hint),
                "input_schema": t.input_schema,
            }
            for t, c in zip(listed, costs, strict=True)
        ]
        print(json.dumps({"tools": rows, "total_tokens": total, "servers": servers}, indent=2))
        return 0
    width = max((len(t.name) for t in listed), default=4)
    for t, c in zip(listed, costs, strict=True):
        print(f"{t.name:<{width}}  {c.tokens:>5}  {t.description or ''}")
    print(f"{len(listed)} tools, {total} DeepSeek tokens")
    if servers:
        from mcp_hub.federation.report import render

        print("federated servers:")
        print("\n".join(render(servers)))
    return 0


def _state_kind(url: str | None) -> str:
    """Where shared state lives, without the URL (it may hold a password)."""
    if not url:
        return "in-process"
    return "redis" if url.split(":", 1)[0] in ("redis", "rediss", "unix") else "postgresql"


if __name__ == "__main__":  # last: everything main() calls is defined above
    sys.exit(main())
