"""The default store: one SQLite file (stdlib sqlite3 in a worker thread), safe for several processes on one
host (`BEGIN IMMEDIATE` serialises claims; WAL lets readers through). Its processes share one host, so one
clock: leases use it. Finished jobs past `done_ttl_s` are pruned a batch at a time as jobs finish."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio

from model.webhook.jobs import Job
from model.webhook.store import DONE_TTL_S, PRUNE_BATCH, Enqueued

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    key TEXT PRIMARY KEY, grp TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, not_before REAL NOT NULL DEFAULT 0,
    lease_until REAL NOT NULL DEFAULT 0, worker TEXT NOT NULL DEFAULT '', created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_grp ON jobs (grp);
CREATE TABLE IF NOT EXISTS done (key TEXT PRIMARY KEY, outcome TEXT NOT NULL, finished REAL NOT NULL);
CREATE INDEX IF NOT EXISTS done_finished ON done (finished);
CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, expires REAL NOT NULL);
"""

CLAIMABLE = """
SELECT key, payload, attempts FROM jobs j
WHERE ((state = 'queued' AND not_before <= :now) OR (state = 'running' AND lease_until < :now))
  AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.grp = j.grp AND r.key <> j.key
                  AND r.state = 'running' AND r.lease_until >= :now)
ORDER BY created LIMIT 1
"""


class SqliteStore:
    def __init__(self, path: str, *, done_ttl_s: float = DONE_TTL_S) -> None:
        self.path = Path(path)
        self.done_ttl_s = float(done_ttl_s)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    async def open(self) -> None:
        def connect() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            self._db = db

        await anyio.to_thread.run_sync(connect)

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await anyio.to_thread.run_sync(db.close)

    async def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            assert self._db is not None, "store not opened"
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    out = fn(self._db)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
                return out

        return await anyio.to_thread.run_sync(run)

    async def remember_delivery(self, delivery: str, ttl_s: float) -> bool:
        return await self._tx(lambda db: _remember(db, delivery, ttl_s))

    async def accept(self, delivery: str, ttl_s: float, job: Job) -> Enqueued | None:
        """The delivery remembered and its job queued in one transaction (None: a replay, nothing queued)."""
        return await self._tx(lambda db: _enqueue(db, job) if _remember(db, delivery, ttl_s) else None)

    async def forget_delivery(self, delivery: str) -> None:
        await self._tx(lambda db: db.execute("DELETE FROM deliveries WHERE id = ?", (delivery,)))

    async def enqueue(self, job: Job) -> Enqueued:
        return await self._tx(lambda db: _enqueue(db, job))

    async def claim(self, worker: str, lease_s: float) -> Job | None:
        def run(db: sqlite3.Connection) -> Job | None:
            now = time.time()
            row = db.execute(CLAIMABLE, {"now": now}).fetchone()
            if row is None:
                return None
            key, payload, attempts = row
            db.execute(
                "UPDATE jobs SET state = 'running', worker = ?, lease_until = ? WHERE key = ?",
                (worker, now + lease_s, key),
            )
            return Job.loads(payload, attempts)

        return await self._tx(run)

    async def renew(self, key: str, worker: str, lease_s: float) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            cur = db.execute(
                "UPDATE jobs SET lease_until = ? WHERE key = ? AND worker = ? AND state = 'running'",
                (time.time() + lease_s, key, worker),
            )
            return cur.rowcount == 1

        return await self._tx(run)

    async def retry(self, key: str, worker: str, delay_s: float) -> None:
        await self._tx(
            lambda db: db.execute(
                "UPDATE jobs SET state = 'queued', attempts = attempts + 1, not_before = ?, worker = '' "
                "WHERE key = ? AND worker = ?",
                (time.time() + delay_s, key, worker),
            )
        )

    async def finish(self, key: str, worker: str, outcome: str) -> None:
        def run(db: sqlite3.Connection) -> None:
            now = time.time()
            db.execute("INSERT OR IGNORE INTO done (key, outcome, finished) VALUES (?, ?, ?)", (key, outcome, now))
            db.execute("DELETE FROM jobs WHERE key = ?", (key,))
            db.execute(
                "DELETE FROM done WHERE key IN (SELECT key FROM done WHERE finished < ? ORDER BY finished LIMIT ?)",
                (now - self.done_ttl_s, PRUNE_BATCH),
            )

        await self._tx(run)

    async def outcome(self, key: str) -> str | None:
        row = await self._tx(lambda db: db.execute("SELECT outcome FROM done WHERE key = ?", (key,)).fetchone())
        return None if row is None else str(row[0])

    async def counts(self) -> dict[str, int]:
        def run(db: sqlite3.Connection) -> dict[str, int]:
            now = time.time()
            queued, running = db.execute(
                "SELECT COALESCE(SUM(state = 'queued' OR lease_until < ?), 0), "
                "COALESCE(SUM(state = 'running' AND lease_until >= ?), 0) FROM jobs",
                (now, now),
            ).fetchone()
            (done,) = db.execute("SELECT COUNT(*) FROM done").fetchone()
            return {"queued": int(queued), "running": int(running), "done": int(done)}

        return await self._tx(run)


def _remember(db: sqlite3.Connection, delivery: str, ttl_s: float) -> bool:
    now = time.time()
    db.execute("DELETE FROM deliveries WHERE expires < ?", (now,))
    cur = db.execute("INSERT OR IGNORE INTO deliveries (id, expires) VALUES (?, ?)", (delivery, now + ttl_s))
    return cur.rowcount == 1


def _enqueue(db: sqlite3.Connection, job: Job) -> Enqueued:
    if db.execute("SELECT 1 FROM done WHERE key = ?", (job.key,)).fetchone():
        return Enqueued("done")
    if db.execute("SELECT 1 FROM jobs WHERE key = ?", (job.key,)).fetchone():
        return Enqueued("duplicate")
    cur = db.execute("DELETE FROM jobs WHERE grp = ? AND state = 'queued'", (job.group,))
    db.execute(
        "INSERT INTO jobs (key, grp, payload, state, created) VALUES (?, ?, ?, 'queued', ?)",
        (job.key, job.group, job.dumps(), time.time()),
    )
    return Enqueued("queued", cur.rowcount)
