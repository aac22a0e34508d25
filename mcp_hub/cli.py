"""The `mcp-hub` command line.

    mcp-hub serve [--transport stdio|sse|http] [--host H] [--port P] [--config FILE]
                  [--toolsets LIST] [--tools LIST] [--exclude-tools LIST] [--allow-writes] [--discovery]
    mcp-hub config check [--config FILE] [--json]
    mcp-hub tools [--json] [--config FILE] [--toolsets LIST] [--tools LIST] [--exclude-tools LIST]
                  [--allow-writes] [--discovery]
    mcp-hub postgres demo [--config FILE] [--dsn DSN]
    mcp-hub postgres create-reader [--instance NAME] [--schemas a,b] [--config FILE]
    mcp-hub postgres drop-reader [--instance NAME] [--config FILE]
    mcp-hub model serve PROFILE [--tp N] [--max-model-len N] [--lora NAME=PATH] [--dry-run]
    mcp-hub model check [--base-url URL]
    mcp-hub agent "TASK" [--model PROFILE] [--base-url URL] [--max-steps N] [--approve GLOB] [--json]
    mcp-hub review URL [--post] [--fail-on SEVERITY] [--lang en|ja] [--json]

Logs go to stderr, never stdout (stdout is the stdio transport).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mcp_hub import __version__
from mcp_hub.config import HubConfig, load_config
from mcp_hub.errors import ConfigError, HubError
from mcp_hub.redaction import RedactingFilter, Redactor

if TYPE_CHECKING:
    from mcp_hub.server import HubServer

log = logging.getLogger("mcp_hub")


def _parser(with_model: bool = True) -> argparse.ArgumentParser:
    """The whole CLI; `with_model=False` leaves out `model`/`agent` (their imports cost `serve` start-up)."""
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
    serve.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING, ERROR (default: hub.log_level)")

    config = commands.add_parser("config", help="inspect the configuration")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser("check", help="what is enabled, what is not and why (never prints secrets)")
    common(check, policy=False)
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--no-connect", action="store_true", help="skip connecting to services")

    tools = commands.add_parser("tools", help="the tool catalog a client sees, with its cost in DeepSeek tokens")
    common(tools)
    tools.add_argument("--json", action="store_true", help="machine-readable output")

    postgres = commands.add_parser("postgres", help="PostgreSQL helpers")
    postgres_commands = postgres.add_subparsers(dest="postgres_command", required=True)
    demo = postgres_commands.add_parser(
        "demo", help="load a sample schema (shop) into the embedded database, or into --dsn"
    )
    common(demo, policy=False)
    demo.add_argument("--dsn", help="load into this database instead (the role must be able to create a schema)")
    create_reader = postgres_commands.add_parser(
        "create-reader",
        help="create a read-only login for model-written SQL, with the configured DSN's login, and keep its "
        "credentials (mode 0600)",
    )
    common(create_reader, policy=False)
    create_reader.add_argument("--instance", default="default", help="the instance (default: the default one)")
    create_reader.add_argument(
        "--schemas", metavar="LIST", help="comma-separated schemas it may read (default: all data, pg_read_all_data)"
    )
    drop_reader = postgres_commands.add_parser("drop-reader", help="drop the reader create-reader made")
    common(drop_reader, policy=False)
    drop_reader.add_argument("--instance", default="default", help="the instance (default: the default one)")

    if with_model:
        from model import cli as model_cli

        model_cli.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `serve` never needs the model's commands (their imports would cost every stdio start-up).
    args = _parser(with_model=argv[:1] != ["serve"]).parse_args(argv)
    redactor = Redactor()
    try:
        if args.command == "serve":
            return _serve(args, redactor)
        if args.command == "config":
            return _config_check(args, redactor)
        if args.command == "postgres" and args.postgres_command == "demo":
            return _postgres_demo(args, redactor)
        if args.command == "postgres":
            return _postgres_reader(args, redactor)
        if args.command in ("model", "agent", "review", "triage", "webhook"):
            from model import cli as model_cli

            return model_cli.run(args)
        return _tools(args)
    except ConfigError as exc:
        print(f"mcp-hub: {redactor.redact(exc.message)}", file=sys.stderr)
        return 2
    except ServeError as exc:
        print(f"mcp-hub: {redactor.redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _setup_logging(level: str, redactor: Redactor) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(redactor))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _load(args: argparse.Namespace) -> tuple[HubConfig, Any]:
    from mcp_hub.registry import Registry

    # Registry first: it knows the ecosystem variables (DATABASE_URL, …) of installed connectors.
    registry = Registry.discover()
    # Every problem at once: the hub's own settings and every connector section's.
    config = load_config(
        args.config,
        ecosystem_env=registry.ecosystem_env(),
        check_connectors=registry.problems,
        servers_file=getattr(args, "servers", None),
        reserved_names=registry.manifests,
    )
    if config.hub.connectors is not None:
        registry = Registry([m for n, m in registry.manifests.items() if n in set(config.hub.connectors)])
    if getattr(args, "toolsets", None):
        config.hub.toolsets = [t.strip() for t in args.toolsets.split(",") if t.strip()]
    tools = [t.strip() for t in (getattr(args, "tools", None) or "").split(",") if t.strip()]
    if tools:
        config.hub.allow = tools
        if not getattr(args, "toolsets", None):
            config.hub.toolsets = ["all"]  # the named tools wherever they are, as github-mcp-server does
    excluded = [t.strip() for t in (getattr(args, "exclude_tools", None) or "").split(",") if t.strip()]
    config.hub.deny = [*config.hub.deny, *excluded]
    if getattr(args, "allow_writes", False):
        config.hub.allow_writes = True
    if getattr(args, "discovery", False):
        config.hub.discovery = True
    return config, registry


def _build(
    args: argparse.Namespace, transport: str = "stdio", *, use_catalog_cache: bool = False
) -> tuple[HubConfig, HubServer, list[str]]:
    """The config, the hub, and the installed connectors' names."""
    from mcp_hub.policy import Caller
    from mcp_hub.server import build_server, hub_policy

    config, registry = _load(args)
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


def _serve(args: argparse.Namespace, redactor: Redactor) -> int:
    if args.port is not None and not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port}: a port is a number from 0 to 65535")
    config, server, installed = _build(args, args.transport, use_catalog_cache=True)
    _setup_logging(args.log_level or config.hub.log_level, server.redactor)
    if args.transport == "stdio":
        import anyio

        print(server.redactor.redact(_ready_line(server, installed, "stdio")), file=sys.stderr, flush=True)
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
    app = build_http_app(server, config, hub_policy(config), args.transport, host, port)
    path = "/sse" if args.transport == "sse" else "/mcp"
    sock = _bind(host, port)  # before anything says "listening"
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    log.info("mcp-hub %s listening on http://%s:%d%s", __version__, shown_host, bound_port, path)
    print(
        server.redactor.redact(_ready_line(server, installed, f"http://{shown_host}:{bound_port}{path}")),
        file=sys.stderr,
    )

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

    config, registry = _load(args)
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


def _postgres_demo(args: argparse.Namespace, redactor: Redactor) -> int:
    from pydantic import ValidationError

    from connectors.postgres import demo  # the one connector helper the CLI runs (issue 3)
    from connectors.postgres.settings import PostgresSettings
    from mcp_hub.config import describe_validation_error

    config, _ = _load(args)
    try:
        settings = PostgresSettings.model_validate(
            {k: v for k, v in config.connectors.get("postgres", {}).items() if k != "instances"}
        )
    except ValidationError as exc:
        raise ConfigError(f"[postgres]: {describe_validation_error(exc)}") from None
    dsn = args.dsn or (settings.dsn.get_secret_value() if settings.dsn is not None else None)
    print(redactor.redact(demo.run(dsn, settings.data_dir(), next_command=_next_serve(args))))
    return 0


def _next_serve(args: argparse.Namespace) -> str:
    """The command that serves what `postgres demo` just loaded, as this one was run: the `mcp-hub` found
    on PATH, else this interpreter's script or module, with the same --config, and DATABASE_URL when
    --dsn named a database the configuration does not."""
    import os
    import shlex
    import shutil
    from pathlib import Path

    script = Path(sys.executable).parent / "mcp-hub"
    found = shutil.which("mcp-hub")
    if found and script.exists() and Path(found).resolve() == script.resolve():
        words = ["mcp-hub"]
    elif script.exists():
        words = [str(script)]
    else:
        words = [sys.executable, "-m", "mcp_hub.cli"]
    words.append("serve")
    if getattr(args, "config", None):
        words += ["--config", os.path.abspath(args.config)]
    command = shlex.join(words)
    if args.dsn:
        command = "DATABASE_URL='<the --dsn above>' " + command
    return command


def _postgres_reader(args: argparse.Namespace, redactor: Redactor) -> int:
    """create-reader / drop-reader for one configured instance (with its DSN: never printed)."""
    from connectors.postgres import reader  # connector helpers the CLI runs (issue 17)
    from connectors.postgres.pool import conninfo_for
    from connectors.postgres.settings import PostgresSettings, default_readers_dir

    config, registry = _load(args)
    found = [s for s in registry.resolve(config) if s.connector == "postgres" and s.instance == args.instance]
    if not found or not isinstance(found[0].settings, PostgresSettings):
        raise ConfigError(f"no postgres instance {args.instance!r} is configured")
    settings = found[0].settings
    if settings.dsn is None:
        raise ConfigError("the embedded database makes its own reader: nothing to do without a DSN")
    if settings.read_dsn is not None:
        raise ConfigError(f"instance {args.instance!r} sets read_dsn: that login runs model-written SQL already")
    redactor.add([settings.dsn.get_secret_value()])
    dsn = conninfo_for(settings, settings.dsn.get_secret_value())
    timeout = max(2, int(settings.connect_timeout_s))
    if args.postgres_command == "create-reader":
        schemas = [s.strip() for s in (args.schemas or "").split(",") if s.strip()]
        print(redactor.redact(reader.create_reader(dsn, default_readers_dir(), schemas, timeout_s=timeout)))
    else:
        print(redactor.redact(reader.drop_reader(dsn, default_readers_dir(), timeout_s=timeout)))
    return 0


def _state_kind(url: str | None) -> str:
    """Where shared state lives, without the URL (it may hold a password)."""
    if not url:
        return "in-process"
    return "redis" if url.split(":", 1)[0] in ("redis", "rediss", "unix") else "postgresql"


if __name__ == "__main__":  # last: everything main() calls is defined above
    sys.exit(main())
