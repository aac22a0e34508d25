"""The store in PostgreSQL (psycopg 3, async): claims take `FOR UPDATE SKIP LOCKED` under a transaction-level
advisory lock, so two workers never take the same job nor two jobs of one group."""

from __future__ import annotations

import re
import time
from typing import Any

import anyio

from mcp_hub.errors import ConfigError
from model.webhook.jobs import Job
from model.webhook.store import Enqueued

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


class PostgresStore:
    def __init__(self, dsn: str, prefix: str) -> None:
        if not _IDENT.match(prefix):
            raise ConfigError("the webhook store's prefix must be a lower-case SQL identifier (letters, digits, _)")
        self._dsn = dsn
        self._p = prefix
        self._conn: Any = None
        self._lock = anyio.Lock()

    async def open(self) -> None:
        import psycopg

        try:
            self._conn = await psycopg.AsyncConnection.connect(self._dsn)
        except psycopg.OperationalError:
            raise ConfigError("cannot connect to the webhook store's PostgreSQL (check [webhook] store)") from None
        p = self._p
        async with self._lock, self._conn.transaction():
            await self._conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (p + ":schema",))
            await self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS {p}_jobs (key text PRIMARY KEY, grp text NOT NULL, payload text NOT NULL,"
                " state text NOT NULL, attempts int NOT NULL DEFAULT 0, not_before double precision NOT NULL DEFAULT 0,"
                " lease_until double precision NOT NULL DEFAULT 0, worker text NOT NULL DEFAULT '',"
                " created double precision NOT NULL)"
            )
            await self._conn.execute(f"CREATE INDEX IF NOT EXISTS {p}_jobs_grp ON {p}_jobs (grp)")
            await self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS {p}_done (key text PRIMARY KEY, outcome text NOT NULL,"
                " finished double precision NOT NULL)"
            )
            await self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS {p}_deliveries (id text PRIMARY KEY, expires double precision NOT NULL)"
            )

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    async def _one(self, query: str, params: Any = None) -> Any:
        async with self._lock, self._conn.transaction():
            cur = await self._conn.execute(query, params)
            return await cur.fetchone() if cur.description else cur.rowcount

    async def remember_delivery(self, delivery: str, ttl_s: float) -> bool:
        p, now = self._p, time.time()
        async with self._lock, self._conn.transaction():
            await self._conn.execute(f"DELETE FROM {p}_deliveries WHERE expires < %s", (now,))
            cur = await self._conn.execute(
                f"INSERT INTO {p}_deliveries (id, expires) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (delivery, now + ttl_s),
            )
            return bool(cur.rowcount == 1)

    async def forget_delivery(self, delivery: str) -> None:
        await self._one(f"DELETE FROM {self._p}_deliveries WHERE id = %s", (delivery,))

    async def enqueue(self, job: Job) -> Enqueued:
        p = self._p
        async with self._lock, self._conn.transaction():
            await self._conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (p + ":" + job.group,))
            cur = await self._conn.execute(f"SELECT 1 FROM {p}_done WHERE key = %s", (job.key,))
            if await cur.fetchone():
                return Enqueued("done")
            cur = await self._conn.execute(f"SELECT 1 FROM {p}_jobs WHERE key = %s", (job.key,))
            if await cur.fetchone():
                return Enqueued("duplicate")
            cur = await self._conn.execute(f"DELETE FROM {p}_jobs WHERE grp = %s AND state = 'queued'", (job.group,))
            superseded = cur.rowcount
            await self._conn.execute(
                f"INSERT INTO {p}_jobs (key, grp, payload, state, created) VALUES (%s, %s, %s, 'queued', %s)",
                (job.key, job.group, job.dumps(), time.time()),
            )
            return Enqueued("queued", superseded)

    async def claim(self, worker: str, lease_s: float) -> Job | None:
        p, now = self._p, time.time()
        async with self._lock, self._conn.transaction():
            # Claims are serialised (they take milliseconds), so no two workers take two jobs of one group.
            await self._conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (p + ":claim",))
            cur = await self._conn.execute(
                f"SELECT key, payload, attempts FROM {p}_jobs j"
                " WHERE ((state = 'queued' AND not_before <= %(now)s) OR (state = 'running' AND lease_until < %(now)s))"
                f" AND NOT EXISTS (SELECT 1 FROM {p}_jobs r WHERE r.grp = j.grp AND r.key <> j.key"
                "   AND r.state = 'running' AND r.lease_until >= %(now)s)"
                " ORDER BY created LIMIT 1 FOR UPDATE SKIP LOCKED",
                {"now": now},
            )
            row = await cur.fetchone()
            if row is None:
                return None
            key, payload, attempts = row
            await self._conn.execute(
                f"UPDATE {p}_jobs SET state = 'running', worker = %s, lease_until = %s WHERE key = %s",
                (worker, now + lease_s, key),
            )
            return Job.loads(payload, attempts)

    async def renew(self, key: str, worker: str, lease_s: float) -> bool:
        count = await self._one(
            f"UPDATE {self._p}_jobs SET lease_until = %s WHERE key = %s AND worker = %s AND state = 'running'",
            (time.time() + lease_s, key, worker),
        )
        return bool(count == 1)

    async def retry(self, key: str, worker: str, delay_s: float) -> None:
        await self._one(
            f"UPDATE {self._p}_jobs SET state = 'queued', attempts = attempts + 1, not_before = %s, worker = ''"
            " WHERE key = %s AND worker = %s",
            (time.time() + delay_s, key, worker),
        )

    async def finish(self, key: str, worker: str, outcome: str) -> None:
        p = self._p
        async with self._lock, self._conn.transaction():
            await self._conn.execute(
                f"INSERT INTO {p}_done (key, outcome, finished) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (key, outcome, time.time()),
            )
            await self._conn.execute(f"DELETE FROM {p}_jobs WHERE key = %s", (key,))

    async def outcome(self, key: str) -> str | None:
        row = await self._one(f"SELECT outcome FROM {self._p}_done WHERE key = %s", (key,))
        return None if row is None else str(row[0])

    async def counts(self) -> dict[str, int]:
        now = time.time()
        row = await self._one(
            f"SELECT count(*) FILTER (WHERE state = 'queued' OR lease_until < %(now)s),"
            f" count(*) FILTER (WHERE state = 'running' AND lease_until >= %(now)s),"
            f" (SELECT count(*) FROM {self._p}_done) FROM {self._p}_jobs",
            {"now": now},
        )
        return {"queued": int(row[0]), "running": int(row[1]), "done": int(row[2])}
