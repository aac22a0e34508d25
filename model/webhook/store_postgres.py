"""The store in PostgreSQL (psycopg 3, async): claims take `FOR UPDATE SKIP LOCKED` under a transaction-level
advisory lock, so two workers never take the same job nor two jobs of one group.

Two properties the other stores do not need on one host:

- **It outlives the database.** Connections come from a `psycopg_pool` pool that checks each one as it is
  handed out (`check_connection`: an empty query) and replaces the dead ones, in the background too. After
  a restart or failover the next operation runs on a fresh connection; while the server is down each
  operation fails within `timeout_s` (10 s) with `UpstreamUnavailable` (the receiver answers 503, the worker
  waits and tries again; the worker's repeatable writes wait up to WORKER_PATIENCE_S first) and the
  service itself never needs a restart.
- **Time is the database's.** Every lease, retry delay, arrival order and expiry is computed in SQL from
  `clock_timestamp()`, never from the worker's clock: workers on hosts whose clocks disagree (by seconds or
  by hours) still agree on when a lease ends.

Finished jobs (`_done`) are kept `done_ttl_s` and pruned a batch at a time as jobs finish; delivery ids
are pruned as new ones arrive.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from mcp_hub.errors import ConfigError, UpstreamUnavailable
from model.webhook.jobs import Job
from model.webhook.store import DONE_TTL_S, PRUNE_BATCH, Enqueued

T = TypeVar("T")

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")

#: The database's time as epoch seconds, taken once per statement (a CTE is evaluated once).
_NOW = "WITH c AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS now) "

#: Check each connection as the pool hands it out (the defence against a restarted server; the tests turn it
#: off to show what it prevents).
CHECK_ON_CHECKOUT = True

#: See `open`: the longest wait between the server's return and the store's first connection to it.
RECONNECT_TIMEOUT_S = 8.0

#: How long the worker's repeatable writes (renew, retry, finish) wait for an unreachable server.
WORKER_PATIENCE_S = 60.0

UNAVAILABLE = "the webhook store's PostgreSQL is unreachable (it is retried; check the server and [webhook] store)"


class PostgresStore:
    def __init__(
        self, dsn: str, prefix: str, *, done_ttl_s: float = DONE_TTL_S, timeout_s: float = 10.0, max_size: int = 8
    ) -> None:
        if not _IDENT.match(prefix):
            raise ConfigError("the webhook store's prefix must be a lower-case SQL identifier (letters, digits, _)")
        self._dsn = dsn
        self._p = prefix
        self._done_ttl_s = float(done_ttl_s)
        self._timeout_s = timeout_s
        self._max_size = max_size
        self._pool: Any = None

    async def open(self) -> None:
        from psycopg_pool import AsyncConnectionPool, PoolTimeout

        pool: Any = AsyncConnectionPool(
            self._dsn,
            min_size=1,
            max_size=self._max_size,
            open=False,
            # Autocommit: every operation opens its own transaction (`conn.transaction()`).
            kwargs={"autocommit": True, "connect_timeout": max(1, round(self._timeout_s))},
            check=AsyncConnectionPool.check_connection if CHECK_ON_CHECKOUT else None,
            timeout=self._timeout_s,
            # Background reconnection backs off 1, 2, 4 s… and gives up after this; the next operation then
            # starts a fresh attempt at once. Never longer: a long outage must not leave a long backoff behind.
            reconnect_timeout=RECONNECT_TIMEOUT_S,
            name=f"webhook-{self._p}",
        )
        try:
            await pool.open(wait=True, timeout=self._timeout_s)
        except PoolTimeout:
            await pool.close()
            raise ConfigError("cannot connect to the webhook store's PostgreSQL (check [webhook] store)") from None
        self._pool = pool
        p = self._p

        async def schema(conn: Any) -> None:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (p + ":schema",))
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {p}_jobs (key text PRIMARY KEY, grp text NOT NULL, payload text NOT NULL,"
                " state text NOT NULL, attempts int NOT NULL DEFAULT 0, not_before double precision NOT NULL DEFAULT 0,"
                " lease_until double precision NOT NULL DEFAULT 0, worker text NOT NULL DEFAULT '',"
                " created double precision NOT NULL)"
            )
            await conn.execute(f"CREATE INDEX IF NOT EXISTS {p}_jobs_grp ON {p}_jobs (grp)")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {p}_done (key text PRIMARY KEY, outcome text NOT NULL,"
                " finished double precision NOT NULL)"
            )
            await conn.execute(f"CREATE INDEX IF NOT EXISTS {p}_done_finished ON {p}_done (finished)")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {p}_deliveries (id text PRIMARY KEY, expires double precision NOT NULL)"
            )

        await self._tx(schema)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _tx(self, work: Callable[[Any], Awaitable[T]], *, patience_s: float = 0.0) -> T:
        """`work(conn)` in one transaction on a checked connection; UpstreamUnavailable when the server is not
        there (the pool keeps reconnecting in the background).

        A transaction the server rolled back (deadlock, serialization failure) is run again: nothing of it
        happened. With `patience_s`, for the worker's writes that may safely happen twice (renew, retry,
        finish: a lost COMMIT may have applied them), an unreachable server is waited for that long, so a
        database restart does not fail a running job. The receiver's operations wait for nothing: the forge
        times out first, and its retry comes back."""
        import psycopg
        from psycopg_pool import PoolTimeout

        if self._pool is None:
            raise UpstreamUnavailable("the webhook store is not open")
        deadline = time.monotonic() + patience_s
        rollbacks = 0
        while True:
            try:
                async with self._pool.connection() as conn, conn.transaction():
                    return await work(conn)
            except (PoolTimeout, psycopg.OperationalError) as exc:
                # SQLSTATE class 40 (transaction rollback: deadlock, serialization failure): run it again.
                rolled_back = str(getattr(exc, "sqlstate", None) or "").startswith("40")
                rollbacks += rolled_back
                if rolled_back and rollbacks < 3:
                    continue
                if not rolled_back and time.monotonic() < deadline:
                    await anyio.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
                    continue
                # Never the driver's text: it may quote the host, the user or the DSN. The class name says which.
                what = "the webhook store's transaction kept being rolled back" if rolled_back else UNAVAILABLE
                raise UpstreamUnavailable(f"{what} [{type(exc).__name__}]") from None

    async def _one(self, query: str, params: Any = None, *, patience_s: float = 0.0) -> Any:
        async def run(conn: Any) -> Any:
            cur = await conn.execute(query, params)
            return await cur.fetchone() if cur.description else cur.rowcount

        return await self._tx(run, patience_s=patience_s)

    async def _remember(self, conn: Any, delivery: str, ttl_s: float) -> bool:
        p = self._p
        await conn.execute(
            f"DELETE FROM {p}_deliveries WHERE id IN (SELECT id FROM {p}_deliveries"
            f" WHERE expires < extract(epoch FROM clock_timestamp()) LIMIT {PRUNE_BATCH})"
        )
        # A row still there but expired (beyond the pruned batch) is taken over: EXCLUDED.expires - ttl_s
        # is the database's now.
        cur = await conn.execute(
            _NOW + f"INSERT INTO {p}_deliveries (id, expires) SELECT %s, c.now + %s FROM c"
            " ON CONFLICT (id) DO UPDATE SET expires = EXCLUDED.expires"
            f" WHERE {p}_deliveries.expires < EXCLUDED.expires - %s",
            (delivery, ttl_s, ttl_s),
        )
        return bool(cur.rowcount == 1)

    async def remember_delivery(self, delivery: str, ttl_s: float) -> bool:
        return await self._tx(lambda conn: self._remember(conn, delivery, ttl_s))

    async def accept(self, delivery: str, ttl_s: float, job: Job) -> Enqueued | None:
        """The delivery remembered and its job queued in one transaction (None: a replay, nothing queued)."""

        async def run(conn: Any) -> Enqueued | None:
            if not await self._remember(conn, delivery, ttl_s):
                return None
            return await self._enqueue(conn, job)

        return await self._tx(run)

    async def forget_delivery(self, delivery: str) -> None:
        await self._one(f"DELETE FROM {self._p}_deliveries WHERE id = %s", (delivery,))

    async def _enqueue(self, conn: Any, job: Job) -> Enqueued:
        p = self._p
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (p + ":" + job.group,))
        cur = await conn.execute(f"SELECT 1 FROM {p}_done WHERE key = %s", (job.key,))
        if await cur.fetchone():
            return Enqueued("done")
        cur = await conn.execute(f"SELECT 1 FROM {p}_jobs WHERE key = %s", (job.key,))
        if await cur.fetchone():
            return Enqueued("duplicate")
        cur = await conn.execute(f"DELETE FROM {p}_jobs WHERE grp = %s AND state = 'queued'", (job.group,))
        superseded = cur.rowcount
        await conn.execute(
            _NOW + f"INSERT INTO {p}_jobs (key, grp, payload, state, created) SELECT %s, %s, %s, 'queued', c.now"
            " FROM c",
            (job.key, job.group, job.dumps()),
        )
        return Enqueued("queued", superseded)

    async def enqueue(self, job: Job) -> Enqueued:
        return await self._tx(lambda conn: self._enqueue(conn, job))

    async def claim(self, worker: str, lease_s: float) -> Job | None:
        p = self._p

        async def run(conn: Any) -> Job | None:
            # Claims are serialised (they take milliseconds), so no two workers take two jobs of one group.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (p + ":claim",))
            cur = await conn.execute(
                _NOW + f"UPDATE {p}_jobs SET state = 'running', worker = %(worker)s,"
                " lease_until = (SELECT now FROM c) + %(lease)s"
                f" WHERE key = (SELECT key FROM {p}_jobs j, c"
                "   WHERE ((state = 'queued' AND not_before <= c.now) OR (state = 'running' AND lease_until < c.now))"
                f"   AND NOT EXISTS (SELECT 1 FROM {p}_jobs r WHERE r.grp = j.grp AND r.key <> j.key"
                "     AND r.state = 'running' AND r.lease_until >= c.now)"
                "   ORDER BY created LIMIT 1 FOR UPDATE OF j SKIP LOCKED)"
                " RETURNING payload, attempts",
                {"worker": worker, "lease": lease_s},
            )
            row = await cur.fetchone()
            return None if row is None else Job.loads(row[0], row[1])

        return await self._tx(run)

    async def renew(self, key: str, worker: str, lease_s: float) -> bool:
        count = await self._one(
            _NOW + f"UPDATE {self._p}_jobs SET lease_until = (SELECT now FROM c) + %s"
            " WHERE key = %s AND worker = %s AND state = 'running'",
            (lease_s, key, worker),
            patience_s=WORKER_PATIENCE_S,
        )
        return bool(count == 1)

    async def retry(self, key: str, worker: str, delay_s: float) -> None:
        await self._one(
            _NOW + f"UPDATE {self._p}_jobs SET state = 'queued', attempts = attempts + 1,"
            " not_before = (SELECT now FROM c) + %s, worker = '' WHERE key = %s AND worker = %s",
            (delay_s, key, worker),
            patience_s=WORKER_PATIENCE_S,
        )

    async def finish(self, key: str, worker: str, outcome: str) -> None:
        p = self._p

        async def run(conn: Any) -> None:
            await conn.execute(
                _NOW + f"INSERT INTO {p}_done (key, outcome, finished) SELECT %s, %s, c.now FROM c"
                " ON CONFLICT DO NOTHING",
                (key, outcome),
            )
            await conn.execute(f"DELETE FROM {p}_jobs WHERE key = %s", (key,))
            # Retention: a batch of the oldest records past done_ttl_s goes with every finished job.
            await conn.execute(
                _NOW + f"DELETE FROM {p}_done WHERE key IN (SELECT key FROM {p}_done, c"
                f" WHERE finished < c.now - %s ORDER BY finished LIMIT {PRUNE_BATCH})",
                (self._done_ttl_s,),
            )

        await self._tx(run, patience_s=WORKER_PATIENCE_S)

    async def outcome(self, key: str) -> str | None:
        row = await self._one(f"SELECT outcome FROM {self._p}_done WHERE key = %s", (key,))
        return None if row is None else str(row[0])

    async def counts(self) -> dict[str, int]:
        row = await self._one(
            _NOW + "SELECT count(*) FILTER (WHERE state = 'queued' OR lease_until < c.now),"
            " count(*) FILTER (WHERE state = 'running' AND lease_until >= c.now),"
            f" (SELECT count(*) FROM {self._p}_done) FROM {self._p}_jobs, c",
        )
        return {"queued": int(row[0]), "running": int(row[1]), "done": int(row[2])}
