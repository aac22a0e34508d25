"""Fixtures of the Postgres connector tests: a richer database than tests/pg.py's, and a hub factory."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from connectors.postgres import PostgresConnector
from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy
from tests.pg import Cluster, TestDatabase, cluster, find_bindir, throwaway_database

SHOP = """
CREATE SCHEMA billing;
COMMENT ON SCHEMA billing IS 'money';
CREATE TABLE users (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    password_hash text,
    nickname text DEFAULT 'anon',
    age int CHECK (age >= 0)
);
COMMENT ON TABLE users IS 'people who log in';
COMMENT ON COLUMN users.email IS 'login';
CREATE TABLE billing.invoices (
    id serial PRIMARY KEY,
    user_id int NOT NULL REFERENCES users (id),
    amount numeric(10, 2) NOT NULL,
    card_number text,
    issued_on date NOT NULL
);
CREATE INDEX invoices_user_idx ON billing.invoices (user_id);
CREATE INDEX invoices_user_dup_idx ON billing.invoices (user_id);
CREATE INDEX invoices_issued_idx ON billing.invoices (issued_on);
CREATE VIEW user_emails AS SELECT id, email FROM users;
CREATE MATERIALIZED VIEW invoice_totals AS SELECT user_id, sum(amount) AS total FROM billing.invoices GROUP BY 1;
CREATE TABLE events (id bigint, kind text, payload jsonb, at timestamptz);
CREATE SEQUENCE ticket_seq MAXVALUE 100;
SELECT setval('ticket_seq', 90);
INSERT INTO users (email, password_hash, age)
SELECT 'user' || g || '@example.com', md5(g::text), 20 + g % 50 FROM generate_series(1, 50) g;
INSERT INTO billing.invoices (user_id, amount, card_number, issued_on)
SELECT 1 + g % 50, g, '4111-0000-' || g, date '2024-01-01' + g FROM generate_series(1, 3000) g;
INSERT INTO events SELECT g, 'k' || g % 10, jsonb_build_object('n', g), now() FROM generate_series(1, 5000) g;
ANALYZE;
"""


@pytest.fixture(scope="session")
def shop_db(pg_admin_dsn: str) -> Iterator[TestDatabase]:
    """tests/pg.py's database plus a `billing` schema, comments, views, indexes and a sequence near its limit;
    the reader role may read everything."""
    with throwaway_database(pg_admin_dsn) as db:
        with psycopg.connect(db.superuser_dsn, autocommit=True) as conn:
            conn.execute(SHOP)
            for schema in ("public", "billing"):
                conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {db.reader_role}")
                conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {db.reader_role}")
                conn.execute(f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {db.reader_role}")
        yield db


HubFactory = Callable[..., HubServer]


def hub_for(dsn: str, env: dict[str, str] | None = None, *, allow_writes: bool = False) -> HubServer:
    registry = Registry([PostgresConnector])
    base = {"DATABASE_URL": dsn, "MCP_HUB_TOOLSETS": "all"}
    if allow_writes:
        base |= {"MCP_HUB_ALLOW_WRITES": "1", "MCP_HUB_ALLOW_DESTRUCTIVE": "1"}
    config = load_config(env=base | (env or {}), ecosystem_env=registry.ecosystem_env())
    return build_server(config, registry=registry, caller=Caller("local", "memory", hub_policy(config)))


@pytest.fixture
def shop_hub(shop_db: TestDatabase) -> HubFactory:
    """A hub on shop_db as the reader role (all toolsets); pass env and allow_writes as needed.

    `superuser=True`: the DSN is the superuser's (writes, monitoring) and model-written SQL runs on the
    reader role (`read_dsn`), as wall 1 requires."""

    def make(env: dict[str, str] | None = None, *, allow_writes: bool = False, superuser: bool = False) -> HubServer:
        if not superuser:
            return hub_for(shop_db.reader_dsn, env, allow_writes=allow_writes)
        env = {"MCP_HUB_POSTGRES__READ_DSN": shop_db.reader_dsn} | (env or {})
        return hub_for(shop_db.superuser_dsn, env, allow_writes=allow_writes)

    return make


def data(result: Any) -> Any:
    assert not result.is_error, result.content
    return result.structured_content


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway cluster of our own (with pg_stat_statements preloaded) that tests may stop and restart:
    never the shared server."""
    bindir = find_bindir()
    if bindir is None:
        pytest.fail("these tests start their own PostgreSQL: install the server binaries (initdb, pg_ctl)")
    with cluster(bindir, "-c shared_preload_libraries=pg_stat_statements") as running:
        yield running


@pytest.fixture(scope="session")
def pg_cluster_reader(pg_cluster: Cluster) -> str:
    """The DSN of a least-privileged login (pg_read_all_data) on pg_cluster, for its tests' reads."""
    role = f"mcp_hub_reader_{secrets.token_hex(4)}"
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(sql.Identifier(role)))
    return make_conninfo(pg_cluster.dsn, user=role)


def cluster_hub(cluster: Cluster, reader_dsn: str, env: dict[str, str] | None = None) -> HubServer:
    """A hub on pg_cluster: its superuser DSN, model-written SQL on the reader (`read_dsn`)."""
    return hub_for(cluster.dsn, {"MCP_HUB_POSTGRES__READ_DSN": reader_dsn} | (env or {}))
