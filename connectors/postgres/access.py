"""Which login runs model-written SQL (wall 1): the pool reads go to, or why there is none.

Resolved once per instance, on the first read (the connector is lazy), in this order:
1. `read_dsn`: its own pool; its login must pass the audit.
2. The embedded database: its `mcp_hub_reader` role (made by `embedded`).
3. The configured login, audited once (one round trip):
   - `unsafe_login_role = true`: used whatever it can do (warned at every start);
   - safe (`logins.LoginReport.safe`): used, one pool for everything;
   - else a reader stored by `mcp-hub postgres create-reader` for that exact
     host, port, database and login: its own pool, audited too;
   - else reads are refused with the fix (PolicyDenied). The stored credentials
     are looked for again on each refused call, so a reader created while the
     hub runs is picked up without a restart.
The privileged pool stays for what needs it: writes when allowed, monitoring
views, and the schema tools (the hub's own fixed catalog queries with
parameters, which must work before any reader exists).
Imported lazily (psycopg).
"""

from __future__ import annotations

import math

import anyio
import psycopg

from connectors.postgres import logins, reader
from connectors.postgres.errors import translate
from connectors.postgres.logins import Endpoint, LoginReport
from connectors.postgres.pool import Pool, conninfo_for, open_pool
from connectors.postgres.settings import PostgresSettings, default_readers_dir
from mcp_hub.errors import AuthError, HubError, PolicyDenied, UpstreamUnavailable


class ReadAccess:
    """The read side of one instance: its pool once resolved, and what the audits found."""

    def __init__(self, instance: str, settings: PostgresSettings) -> None:
        self.instance = instance
        self.settings = settings
        #: Where model-written SQL runs, once resolved.
        self.pool: Pool | None = None
        #: How the read login was chosen: "configured login", "read_dsn", "created reader", "embedded reader".
        self.source = ""
        self.reader: LoginReport | None = None
        self.admin: LoginReport | None = None
        self.endpoint: Endpoint | None = None
        self._lock = anyio.Lock()
        self._own: Pool | None = None  # a pool of our own, to close

    async def resolve(self, admin: Pool, admin_dsn: str, embedded_reader_dsn: str | None) -> Pool:
        """The read pool; PolicyDenied (with the fix) when no least-privileged login exists."""
        if self.pool is not None:
            return self.pool
        async with self._lock:
            if self.pool is None:
                self.pool = await self._resolve(admin, admin_dsn, embedded_reader_dsn)
        return self.pool

    async def audit_admin(self, admin: Pool) -> LoginReport:
        if self.admin is None:
            self.admin, self.endpoint = await logins.audit(admin)
        return self.admin

    async def _resolve(self, admin: Pool, admin_dsn: str, embedded_reader_dsn: str | None) -> Pool:
        settings = self.settings
        if settings.read_dsn is not None:
            return await self._open("read_dsn", settings.read_dsn.get_secret_value())
        if embedded_reader_dsn is not None:
            return await self._open("embedded reader", embedded_reader_dsn)
        report = await self.audit_admin(admin)
        if settings.unsafe_login_role or report.safe:
            self.source, self.reader = "configured login", report
            return admin
        assert self.endpoint is not None
        stored = reader.load(default_readers_dir(), self.endpoint)
        if stored is None:
            raise PolicyDenied(self.refusal(report))
        return await self._open("created reader", stored.dsn(admin_dsn))

    async def _open(self, source: str, dsn: str) -> Pool:
        """A pool for `dsn` once its login passed the audit (on a first connection of its own, so that a
        login the server refuses is named as such rather than as an unreachable server)."""
        report = await self._audit_login(source, dsn)
        if not report.safe:
            raise PolicyDenied(
                f"model-written SQL is refused on instance {self.instance!r}: its {source} login {report.role!r} "
                f"is not least-privileged ({'; '.join(report.powers())}). Use a login that may only read "
                "(e.g. granted pg_read_all_data, owning nothing)."
            )
        pool = await open_pool(self.settings, dsn)
        self.source, self.reader, self._own = source, report, pool
        return pool

    async def _audit_login(self, source: str, dsn: str) -> LoginReport:
        settings = self.settings
        try:
            conn = await psycopg.AsyncConnection.connect(
                conninfo_for(settings, dsn),
                autocommit=True,
                prepare_threshold=None,
                application_name=settings.application_name,
                connect_timeout=max(2, math.ceil(settings.connect_timeout_s)),
            )
        except psycopg.Error:
            # libpq's message may quote the host; ours names the cause and the fix only.
            raise self._cannot_log_in(source) from None
        try:
            report, _ = await logins.audit_connection(conn)
        except psycopg.Error as exc:
            raise translate(exc) from exc
        finally:
            await conn.close()
        return report

    def _cannot_log_in(self, source: str) -> HubError:
        if source == "created reader" and self.endpoint is not None:
            path = reader.credentials_path(default_readers_dir(), self.endpoint)
            return AuthError(
                "the reader create-reader made for this instance cannot log in (the role was dropped, its password "
                f"changed, or pg_hba.conf refuses it): delete {path} and run `{self.fix_command()}` again"
            )
        return UpstreamUnavailable(
            f"cannot log in with the {source} of instance {self.instance!r} (login refused, or the server is "
            "unreachable); check it"
        )

    def fix_command(self) -> str:
        option = "" if self.instance == "default" else f" --instance {self.instance}"
        return f"mcp-hub postgres create-reader{option}"

    def refusal(self, report: LoginReport) -> str:
        return (
            f"postgres_query, postgres_explain, index advice and table samples are off for instance "
            f"{self.instance!r}: its login {report.role!r} could act beyond reading ({'; '.join(report.powers())}). "
            f"Fix: run `{self.fix_command()}` (creates a read-only login for them and keeps its password in "
            f"{default_readers_dir()}, mode 0600), or set read_dsn to a login that may only read; "
            "unsafe_login_role = true accepts the risk. The schema and monitoring tools keep working."
        )

    async def close(self) -> None:
        if self._own is not None:
            pool, self._own, self.pool = self._own, None, None
            await pool.close()
