"""What a login role can do beyond reading: the audit behind wall 1 (least privilege by login).

A read runs SQL a model wrote. The READ ONLY transaction it runs in stops
ordinary writes, but not what acts outside the transaction: server files and
programs, signals to other sessions (a role may cancel or terminate its own
other sessions without any grant), replication, roles, databases, and anything
that reaches a second session (dblink) and commits there. So reads must run on a
*login* that has none of these powers: switching role inside a privileged
session is no wall (`set_config('role', …)` switches back; PostgreSQL checks it
against the session user).

A login is unsafe for reads when it, or any role it is a member of (transitively,
`pg_has_role(…, 'MEMBER')`, so SET ROLE targets count even without INHERIT):
- is superuser, or has REPLICATION, BYPASSRLS, CREATEROLE or CREATEDB;
- is a member of a predefined role with powers outside a read-only transaction
  (`DANGEROUS_ROLES`, those that exist on the server: checked with `to_regrole`);
- owns the database, a schema or a relation (owners may change or write anything
  they own), or holds INSERT/UPDATE/DELETE/TRUNCATE on a relation (or column),
  or USAGE/UPDATE on a sequence, directly or through PUBLIC.

The audit is one statement, run once per pool in one round trip.
Imported lazily (psycopg).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout

from connectors.postgres.errors import translate
from connectors.postgres.pool import Connection, Pool, borrow
from connectors.postgres.wire import UNLOCK, Command, run_pipeline

#: Predefined roles whose members reach files, programs, other sessions, or write anything.
#: Those that do not exist on the server's version are skipped (`to_regrole`).
DANGEROUS_ROLES = (
    "pg_read_server_files",  # COPY FROM file, pg_read_file, lo_import on the server
    "pg_write_server_files",  # COPY TO file, lo_export
    "pg_execute_server_program",  # COPY … PROGRAM
    "pg_signal_backend",  # cancel / terminate other roles' sessions
    "pg_signal_autovacuum_worker",  # PostgreSQL 18: signal autovacuum workers
    "pg_checkpoint",  # PostgreSQL 15: CHECKPOINT
    "pg_create_subscription",  # PostgreSQL 16: CREATE SUBSCRIPTION (connects out, writes)
    "pg_maintain",  # PostgreSQL 17: VACUUM, REINDEX, LOCK, REFRESH on every relation
    "pg_write_all_data",  # INSERT/UPDATE/DELETE everywhere
    "pg_use_reserved_connections",  # PostgreSQL 16: takes connections kept for administrators
    # Secrets: every setting, `primary_conninfo` (a standby's replication password) included; and
    # every session's SQL text (other callers', literals and all). pg_monitor holds both.
    "pg_read_all_settings",
    "pg_read_all_stats",
    "pg_monitor",
)

#: $1: DANGEROUS_ROLES. One row: login, attributes, dangerous roles, owned objects (count, a few
#: names), writable objects (count, a few names).
AUDIT_SQL = """
WITH member AS (
    SELECT r.oid, r.rolsuper, r.rolreplication, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb
    FROM pg_roles r WHERE pg_has_role(current_user, r.oid, 'MEMBER')
), system AS (  -- the bootstrap superuser's; a superuser is reported as such
    SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast')
), owned AS (
    SELECT 'database ' || quote_ident(d.datname) AS what FROM pg_database d
    WHERE d.datname = current_database() AND d.datdba IN (SELECT oid FROM member)
    UNION ALL
    SELECT 'schema ' || quote_ident(n.nspname) FROM pg_namespace n
    WHERE n.nspowner IN (SELECT oid FROM member) AND n.oid NOT IN (SELECT oid FROM system)
    UNION ALL
    SELECT 'relation ' || c.oid::regclass::text FROM pg_class c
    WHERE c.relowner IN (SELECT oid FROM member) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND c.relnamespace NOT IN (SELECT oid FROM system)
), writable AS (
    SELECT DISTINCT c.oid::regclass::text AS what FROM pg_class c, aclexplode(c.relacl) a
    WHERE c.relacl IS NOT NULL AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND c.relnamespace NOT IN (SELECT oid FROM system)
      AND (a.grantee = 0 OR a.grantee IN (SELECT oid FROM member))
      AND (a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
           OR (c.relkind = 'S' AND a.privilege_type = 'USAGE'))
    UNION
    SELECT DISTINCT c.oid::regclass::text FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid,
                    aclexplode(t.attacl) a
    WHERE t.attacl IS NOT NULL AND c.relnamespace NOT IN (SELECT oid FROM system)
      AND (a.grantee = 0 OR a.grantee IN (SELECT oid FROM member))
      AND a.privilege_type IN ('INSERT', 'UPDATE')
)
SELECT current_user::text,
       ARRAY(SELECT a FROM (VALUES
                ('superuser', (SELECT bool_or(rolsuper) FROM member)),
                ('REPLICATION', (SELECT bool_or(rolreplication) FROM member)),
                ('BYPASSRLS', (SELECT bool_or(rolbypassrls) FROM member)),
                ('CREATEROLE', (SELECT bool_or(rolcreaterole) FROM member)),
                ('CREATEDB', (SELECT bool_or(rolcreatedb) FROM member))) v(a, has) WHERE has),
       ARRAY(SELECT name FROM unnest($1::text[]) name
             WHERE to_regrole(name) IS NOT NULL AND pg_has_role(current_user, to_regrole(name), 'MEMBER')
             ORDER BY name),
       (SELECT count(*) FROM owned),
       ARRAY(SELECT what FROM owned ORDER BY what LIMIT 3),
       (SELECT count(*) FROM writable),
       ARRAY(SELECT what FROM writable ORDER BY what LIMIT 3),
       COALESCE((SELECT pg_has_role(current_user, r.oid, 'USAGE') FROM pg_roles r
                 WHERE r.rolname = 'pg_read_all_data'), false)
"""

_AUDIT_TIMEOUT_MS = 10_000
_BEGIN = Command("BEGIN READ ONLY", quiet=True)
_TIMEOUT = Command("SELECT set_config('statement_timeout', $1, true)", [str(_AUDIT_TIMEOUT_MS)], quiet=True)
_ROLLBACK = Command("ROLLBACK", quiet=True)


@dataclass(frozen=True)
class Endpoint:
    """Where a login connects, as libpq resolved it: the key of a stored reader."""

    host: str
    port: int
    dbname: str
    user: str


@dataclass
class LoginReport:
    """What a login role can do beyond reading."""

    role: str
    #: superuser, REPLICATION, BYPASSRLS, CREATEROLE, CREATEDB (its own or a member role's).
    attributes: list[str] = field(default_factory=list)
    #: Dangerous predefined roles it is a member of.
    dangerous: list[str] = field(default_factory=list)
    owns: int = 0
    owned_examples: list[str] = field(default_factory=list)
    writes: int = 0
    writable_examples: list[str] = field(default_factory=list)
    #: Holds pg_read_all_data: every table and system catalog (not a power beyond reading, but said).
    reads_all: bool = False

    @property
    def safe(self) -> bool:
        """True when model-written SQL may run on this login (wall 1)."""
        return not (self.attributes or self.dangerous or self.owns or self.writes)

    def powers(self) -> list[str]:
        """What makes it unsafe, in words (names of roles and relations only, never a DSN)."""
        said = []
        if "superuser" in self.attributes:
            said.append("superuser (server files, programs, every session, every table)")
        others = [a for a in self.attributes if a != "superuser"]
        if others:
            said.append(f"has {', '.join(others)}")
        if self.dangerous:
            said.append(f"member of {', '.join(self.dangerous)}")
        if self.owns:
            said.append(f"owns {self.owns} object(s) ({_examples(self.owned_examples, self.owns)})")
        if self.writes:
            said.append(f"may write {self.writes} relation(s) ({_examples(self.writable_examples, self.writes)})")
        return said

    def describe(self) -> str:
        """One line for `config check`."""
        if self.safe:
            reads = (
                "; it holds pg_read_all_data: it reads every table and system catalog, password hashes "
                "included, and only the statement check keeps model-written SQL from those catalogs"
                if self.reads_all
                else ""
            )
            return (
                f"{self.role!r}: not superuser, no dangerous predefined roles, no write privileges, owns nothing "
                f"(it can still cancel its own other sessions){reads}"
            )
        return f"{self.role!r}: " + "; ".join(self.powers())


def _examples(names: list[str], total: int) -> str:
    return ", ".join(names) + (f", … {total - len(names)} more" if total > len(names) else "")


async def audit(pool: Pool) -> tuple[LoginReport, Endpoint]:
    """The report of the pool's login and where it connects, in one round trip; raises `mcp_hub.errors`."""
    try:
        return await borrow(pool, audit_connection, retry=True)
    except (psycopg.Error, PoolTimeout) as exc:
        raise translate(exc, timeout_ms=_AUDIT_TIMEOUT_MS) from exc


async def audit_connection(conn: Connection) -> tuple[LoginReport, Endpoint]:
    """`audit` on one autocommit connection (psycopg errors are the caller's to translate)."""
    commands = [_BEGIN, _TIMEOUT, Command(AUDIT_SQL, [list(DANGEROUS_ROLES)]), _ROLLBACK]
    outcome = (await run_pipeline(conn, commands, reset=UNLOCK))[2]
    return _report(outcome.rows[0]), _endpoint(conn.info)


def audit_sync(conn: psycopg.Connection[Any]) -> tuple[LoginReport, Endpoint]:
    """`audit` on a synchronous connection (the CLI), in a rolled-back READ ONLY transaction."""
    with conn.transaction(force_rollback=True):
        conn.execute("SET TRANSACTION READ ONLY")
        row = conn.execute(AUDIT_SQL.replace("$1", "%s"), [list(DANGEROUS_ROLES)]).fetchone()
    assert row is not None
    return _report(row), _endpoint(conn.info)


def _report(row: Sequence[Any]) -> LoginReport:
    role, attributes, dangerous, owns, owned, writes, writable, reads_all = row
    return LoginReport(
        str(role),
        list(attributes),
        list(dangerous),
        int(owns),
        list(owned),
        int(writes),
        list(writable),
        bool(reads_all),
    )


def _endpoint(info: Any) -> Endpoint:
    return Endpoint(str(info.host), int(info.port), str(info.dbname), str(info.user))
