"""The persisted queue and its record, shared by every worker process (the contract all stores keep).

- `enqueue`: a key already completed is never queued again ("done"); one already queued or running
  is not queued twice ("duplicate"); a newer job of the same group replaces a queued, not yet
  running one ("superseded" counted).
- `claim`: the oldest claimable job whose group has no live lease; a running job whose lease
  expired (its worker died) is claimable again. Claims are atomic across processes.
- `finish`: records the key's outcome and removes the job, in one step; `retry` puts it back later.
- deliveries: a delivery id seen within its TTL is a replay. `accept` remembers a delivery and queues its
  job in one transaction (Redis: one script), so a delivery is either wholly accepted or not at all: a
  store that fails between the two cannot leave an id remembered with no job (the forge's retry would
  then be answered "replayed" until the id expired).
- retention: a finished key is remembered `done_ttl_s` (then pruned, a batch at a time as other jobs
  finish); a delivery for it after that runs again, and the review's hidden markers make that re-run
  post nothing new.

Exactly once means: a completed key is never run again. A worker that dies after posting but before
`finish` leaves a job that is re-leased and re-run; the review bot's hidden markers make that re-run
post nothing new (see model/review/README.md), so the crash window is harmless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from model.webhook.jobs import Job

#: Rows pruned at most per operation (finished jobs past `done_ttl_s`, expired delivery ids).
PRUNE_BATCH = 200
#: How long a finished key is remembered by default (`[webhook] done_ttl_s`).
DONE_TTL_S = 30 * 86400.0


@dataclass
class Enqueued:
    status: str  # queued | duplicate | done
    superseded: int = 0


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def remember_delivery(self, delivery: str, ttl_s: float) -> bool:
        """True when `delivery` is new (now remembered); False for a replay."""
        ...

    async def forget_delivery(self, delivery: str) -> None: ...

    async def accept(self, delivery: str, ttl_s: float, job: Job) -> Enqueued | None:
        """`remember_delivery` and `enqueue` in one transaction: None for a replay (nothing queued)."""
        ...

    async def enqueue(self, job: Job) -> Enqueued: ...

    async def claim(self, worker: str, lease_s: float) -> Job | None: ...

    async def renew(self, key: str, worker: str, lease_s: float) -> bool: ...

    async def retry(self, key: str, worker: str, delay_s: float) -> None: ...

    async def finish(self, key: str, worker: str, outcome: str) -> None: ...

    async def outcome(self, key: str) -> str | None: ...

    async def counts(self) -> dict[str, int]:
        """{"queued": n, "running": n, "done": n}"""
        ...


def open_store(url: str, *, prefix: str = "mcp_hub_webhook", done_ttl_s: float = DONE_TTL_S) -> Store:
    """`sqlite:///path/queue.db` (or a plain path), `postgresql://…` (or `host=… dbname=…`), or `redis://…`."""
    if url.startswith(("postgres://", "postgresql://")) or re.match(r"^\s*\w+\s*=", url):  # URL or key=value DSN
        from model.webhook.store_postgres import PostgresStore

        return PostgresStore(url, prefix, done_ttl_s=done_ttl_s)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from model.webhook.store_redis import RedisStore

        return RedisStore(url, prefix, done_ttl_s=done_ttl_s)
    from model.webhook.store_sqlite import SqliteStore

    # SQLAlchemy's spelling: sqlite:///relative.db, sqlite:////absolute/path.db
    return SqliteStore(url[len("sqlite:///") :] if url.startswith("sqlite:///") else url, done_ttl_s=done_ttl_s)
