"""`mcp-hub postgres demo|create-reader|drop-reader`: the connector's helpers, plugged into the CLI
through the `mcp_hub.commands` entry-point group (the core CLI never imports this module for `serve`).

Registration is cheap: psycopg and the helpers are imported when a command runs.
"""

from __future__ import annotations

import argparse
import sys

from mcp_hub.commands import Subparsers, add_config_argument, load_hub
from mcp_hub.errors import ConfigError
from mcp_hub.redaction import Redactor


def register(commands: Subparsers) -> None:
    postgres = commands.add_parser("postgres", help="PostgreSQL helpers")
    postgres_commands = postgres.add_subparsers(dest="postgres_command", required=True)
    demo = postgres_commands.add_parser(
        "demo", help="load a sample schema (shop) into the embedded database, or into --dsn"
    )
    add_config_argument(demo)
    demo.add_argument("--dsn", help="load into this database instead (the role must be able to create a schema)")
    create_reader = postgres_commands.add_parser(
        "create-reader",
        help="create a read-only login for model-written SQL, with the configured DSN's login, and keep its "
        "credentials (mode 0600)",
    )
    add_config_argument(create_reader)
    create_reader.add_argument("--instance", default="default", help="the instance (default: the default one)")
    create_reader.add_argument(
        "--schemas", metavar="LIST", help="comma-separated schemas it may read (default: all data, pg_read_all_data)"
    )
    drop_reader = postgres_commands.add_parser("drop-reader", help="drop the reader create-reader made")
    add_config_argument(drop_reader)
    drop_reader.add_argument("--instance", default="default", help="the instance (default: the default one)")
    postgres.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.postgres_command == "demo":
        return _demo(args, Redactor())
    return _reader(args, Redactor())


def _demo(args: argparse.Namespace, redactor: Redactor) -> int:
    from pydantic import ValidationError

    from connectors.postgres import demo
    from connectors.postgres.settings import PostgresSettings
    from mcp_hub.config import describe_validation_error

    config, _ = load_hub(args)
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


def _reader(args: argparse.Namespace, redactor: Redactor) -> int:
    """create-reader / drop-reader for one configured instance (with its DSN: never printed)."""
    from connectors.postgres import reader
    from connectors.postgres.pool import conninfo_for
    from connectors.postgres.settings import PostgresSettings, default_readers_dir

    config, registry = load_hub(args)
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
