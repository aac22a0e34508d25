"""The least-privileged reader login the hub creates and keeps credentials for.

`mcp-hub postgres create-reader` connects with the configured (privileged) DSN
and creates a LOGIN role `mcp_hub_reader_<random>` with a random password:
NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS, CONNECT on the
database, and `pg_read_all_data` (or, with `--schemas`, USAGE and SELECT on
those schemas plus default privileges for tables the DSN's login creates there
later). The password goes to the server as a SCRAM verifier, never in clear (a
statement log would show it otherwise). Before it is kept, the hub logs in as the
new role and audits it (`logins`); a role that turns out to be able to write
(PUBLIC grants) is dropped again and the command fails.

Credentials live in one JSON file per login, mode 0600, in a 0700 folder
(`$XDG_DATA_HOME/mcp-hub/postgres-readers`), named by a hash of host, port,
database and login as libpq resolved them: another DSN never picks them up.
The hub looks there when the configured login is not safe for reads.

The CLI side is synchronous psycopg; `load` is what the hub calls.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from connectors.postgres.logins import Endpoint, LoginReport, audit_sync
from mcp_hub.errors import ConfigError, HubError

ROLE_PREFIX = "mcp_hub_reader_"


@dataclass(frozen=True)
class StoredReader:
    host: str
    port: int
    dbname: str
    login: str
    role: str
    password: str
    #: Empty: pg_read_all_data; else the schemas it may read.
    schemas: tuple[str, ...] = ()

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.host, self.port, self.dbname, self.login)

    def dsn(self, configured_dsn: str) -> str:
        """The configured DSN with the reader's login and password (host, TLS, options kept)."""
        return make_conninfo(configured_dsn, user=self.role, password=self.password)

    def grants(self) -> str:
        return f"SELECT on schemas {', '.join(self.schemas)}" if self.schemas else "pg_read_all_data"


def credentials_path(folder: Path, endpoint: Endpoint) -> Path:
    key = "\0".join([endpoint.host, str(endpoint.port), endpoint.dbname, endpoint.user])
    return folder / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


def load(folder: Path, endpoint: Endpoint) -> StoredReader | None:
    """The reader stored for `endpoint`, if any; ConfigError for a file others may read."""
    path = credentials_path(folder, endpoint)
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the reader credentials {path}: {exc.strerror}") from None
    if stat.S_IMODE(info.st_mode) & 0o077 or info.st_uid != os.getuid():
        raise ConfigError(f"{path} holds a database password but others may read it: chmod 600 it (or delete it)")
    try:
        raw = json.loads(text)
        stored = StoredReader(**{**raw, "schemas": tuple(raw.get("schemas", ()))})
    except (ValueError, TypeError):
        raise ConfigError(f"{path} is not a reader credentials file: delete it and run create-reader again") from None
    return stored if stored.endpoint == endpoint else None


def save(folder: Path, stored: StoredReader) -> Path:
    """Write `stored` (mode 0600) in `folder` (created mode 0700)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.stat().st_uid != os.getuid():
        raise ConfigError(f"{folder} belongs to another user")
    folder.chmod(0o700)
    path = credentials_path(folder, stored.endpoint)
    partial = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({**asdict(stored), "schemas": list(stored.schemas)}, out)
    partial.replace(path)
    return path


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5803), as `\\password` sends it."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    stored_key = hashlib.sha256(client_key).digest()
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _connect(dsn: str, timeout_s: int) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=timeout_s)
    except psycopg.Error as exc:
        raise _config_error(exc) from None


def _config_error(exc: psycopg.Error) -> ConfigError:
    from connectors.postgres.errors import translate

    translated: HubError = translate(exc)
    return ConfigError(translated.message)


def create_reader(dsn: str, folder: Path, schemas: list[str], *, timeout_s: int = 5) -> str:
    """Create a reader for the login of `dsn` and store it; what was done, in words (no secret)."""
    with _connect(dsn, timeout_s) as conn:
        admin, endpoint = audit_sync(conn)
        existing = load(folder, endpoint)
        if (
            existing is not None
            and conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [existing.role]).fetchone()
        ):
            return (
                f"reader {existing.role} ({existing.grants()}) already exists for login {endpoint.user!r} on "
                f"database {endpoint.dbname!r}: nothing to do (drop-reader first to replace it)"
            )
        role = ROLE_PREFIX + secrets.token_hex(4)
        password = secrets.token_hex(24)
        stored = StoredReader(
            endpoint.host, endpoint.port, endpoint.dbname, endpoint.user, role, password, tuple(schemas)
        )
        try:
            with conn.transaction():
                _grant(conn, role, password, endpoint.dbname, schemas)
        except psycopg.Error as exc:
            raise ConfigError(_explain_refusal(exc, admin)) from None
    try:
        with _connect(stored.dsn(dsn), timeout_s) as as_reader:
            report, _ = audit_sync(as_reader)
    except ConfigError as exc:
        _drop_role(dsn, role, timeout_s)
        raise ConfigError(f"created role {role} but could not log in as it ({exc.message}); dropped it again") from None
    if not report.safe:
        _drop_role(dsn, role, timeout_s)
        raise ConfigError(
            f"role {role} would not be least-privileged ({'; '.join(report.powers())}): dropped it again. "
            "Revoke what PUBLIC may write, then run create-reader again."
        )
    path = save(folder, stored)
    return (
        f"created reader {role} ({stored.grants()}) for login {endpoint.user!r} on database {endpoint.dbname!r}; "
        f"credentials in {path} (mode 0600). Model-written SQL now runs as {role}."
    )


def _grant(conn: psycopg.Connection[Any], role: str, password: str, db: str, schemas: list[str]) -> None:
    ident = sql.Identifier(role)
    conn.execute(
        sql.SQL(
            "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {}"
        ).format(ident, sql.Literal(scram_verifier(password)))
    )
    conn.execute(sql.SQL("COMMENT ON ROLE {} IS {}").format(ident, sql.Literal("reader of mcp-hub (create-reader)")))
    # PUBLIC may connect by default; a login that does not own the database could not grant it anyway.
    if conn.execute("SELECT has_database_privilege(%s, current_database(), 'CONNECT')", [role]).fetchone() != (True,):
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(db), ident))
    if not schemas:
        if conn.execute("SELECT to_regrole('pg_read_all_data')").fetchone() == (None,):
            raise ConfigError("this PostgreSQL (before 14) has no pg_read_all_data: give --schemas")
        conn.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(ident))
        return
    for schema in schemas:
        nsp = sql.Identifier(schema)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(nsp, ident))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(nsp, ident))
        conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(nsp, ident))


def _explain_refusal(exc: psycopg.Error, admin: LoginReport) -> str:
    message = _config_error(exc).message
    if getattr(exc, "sqlstate", None) == "42501":  # insufficient privilege
        return (
            f"login {admin.role!r} may not create the reader ({message}). Run this with a DSN whose login has "
            "CREATEROLE (and may grant pg_read_all_data), or ask a DBA for a read-only login and set read_dsn."
        )
    return f"could not create the reader: {message}"


def drop_reader(dsn: str, folder: Path, *, timeout_s: int = 5) -> str:
    """Drop the reader stored for the login of `dsn` and forget its credentials."""
    with _connect(dsn, timeout_s) as conn:
        _, endpoint = audit_sync(conn)
        stored = load(folder, endpoint)
        if stored is None:
            return f"no reader is stored for login {endpoint.user!r} on database {endpoint.dbname!r}: nothing to do"
        try:
            _drop(conn, stored.role)
        except psycopg.Error as exc:
            raise _config_error(exc) from None
    credentials_path(folder, endpoint).unlink(missing_ok=True)
    return f"dropped reader {stored.role} and its credentials"


def _drop_role(dsn: str, role: str, timeout_s: int) -> None:
    with _connect(dsn, timeout_s) as conn:
        _drop(conn, role)


def _drop(conn: psycopg.Connection[Any], role: str) -> None:
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
        return
    with conn.transaction():
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
