"""Where approvals live: in-process, Redis or PostgreSQL, chosen by `hub.state_url` like `mcp_hub.state`.

Not the key-value `StateStore`: an approvals queue needs listing (newest first, by status) and one
atomic compare-and-set for decisions, which a get/set store cannot give across replicas. So each
backend here has the same four operations:

- `put(approval)` stores a new record;
- `get(id)` reads one;
- `page(status, limit, offset)` lists newest first (`status` None = all), with the total;
- `transition(id, to, by, note, now)` moves a record from `pending` (not yet past its expiry, unless
  `to` is `expired`) to `to` in ONE atomic step and returns the record as it is afterwards: the caller
  won when its status is `to` and `decided_at == now`. Of an approve on one replica and a deny on
  another, exactly one wins; the other reads the winner's decision.

Redis: a hash per approval (`<prefix>approval:<id>`, the immutable request as JSON plus the decision
fields) and a sorted set `<prefix>approvals` (id by creation time); the transition is a Lua script.
PostgreSQL: a table `mcp_hub_approvals` (one row per approval, scoped by the prefix); the transition
is one `UPDATE … WHERE status = 'pending' … RETURNING`. Records are kept `RETAIN_S` after expiry.

Unlike the rate-limit budgets, an unreachable store is an error here (a refused write is safer than
a write nobody approved), raised as `ConfigError` without the DSN's password.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

from mcp_hub.approvals.record import Approval, Status
from mcp_hub.errors import ConfigError
from mcp_hub.install import install_hint
from mcp_hub.state import postgres_where, run_statement, safe_url, small_pool

#: How long a record stays listable after its expiry (a week: the audit log keeps it for ever).
RETAIN_S = 7 * 24 * 3600.0


class ApprovalStore(Protocol):
    async def put(self, approval: Approval) -> None: ...

    async def get(self, approval_id: str) -> Approval | None: ...

    async def page(self, status: Status | None, limit: int, offset: int) -> tuple[list[Approval], int]: ...

    async def transition(
        self, approval_id: str, to: Status, by: str | None, note: str, now: float
    ) -> Approval | None: ...

    async def check(self) -> None: ...

    async def aclose(self) -> None: ...


def _may_move(approval: Approval, to: Status, now: float) -> bool:
    if approval.status != "pending":
        return False
    past = now >= approval.expires_at
    return past if to == "expired" else not past or to == "cancelled"


def _matches(approval: Approval, status: Status | None, now: float) -> bool:
    return status is None or approval.effective_status(now) == status


class InProcessApprovals:
    """One process (the default): a dict. Transitions are atomic because nothing awaits inside them."""

    def __init__(self) -> None:
        self._items: dict[str, Approval] = {}

    async def put(self, approval: Approval) -> None:
        self._items[approval.id] = approval
        cutoff = time.time() - RETAIN_S
        for key in [k for k, v in self._items.items() if v.expires_at < cutoff]:
            del self._items[key]

    async def get(self, approval_id: str) -> Approval | None:
        found = self._items.get(approval_id)
        return Approval.from_json(found.to_json()) if found is not None else None

    async def page(self, status: Status | None, limit: int, offset: int) -> tuple[list[Approval], int]:
        now = time.time()
        chosen = [a for a in sorted(self._items.values(), key=lambda a: -a.created_at) if _matches(a, status, now)]
        return [Approval.from_json(a.to_json()) for a in chosen[offset : offset + limit]], len(chosen)

    async def transition(self, approval_id: str, to: Status, by: str | None, note: str, now: float) -> Approval | None:
        found = self._items.get(approval_id)
        if found is None:
            return None
        if _may_move(found, to, now):
            found.status, found.decided_by, found.note, found.decided_at = to, by, note, now
        return Approval.from_json(found.to_json())

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class RedisApprovals:
    #: Move a pending approval (ARGV: to, by, note, now); returns 1 when this call moved it.
    _TRANSITION = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if status ~= 'pending' then return 0 end
local past = tonumber(ARGV[4]) >= tonumber(redis.call('HGET', KEYS[1], 'expires_at'))
if ARGV[1] == 'expired' then
  if not past then return 0 end
elseif past and ARGV[1] ~= 'cancelled' then
  return 0
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'decided_by', ARGV[2], 'note', ARGV[3], 'decided_at', ARGV[4])
return 1
"""

    def __init__(self, url: str, prefix: str) -> None:
        try:
            import redis.asyncio
        except ImportError:
            raise ConfigError(
                "hub.state_url names Redis but the redis client is not installed: " + install_hint("redis")
            ) from None
        self.url = url
        self.prefix = prefix
        self._client: Any = redis.asyncio.Redis.from_url(url, socket_timeout=5.0, socket_connect_timeout=2.0)

    def _key(self, approval_id: str) -> str:
        return f"{self.prefix}approval:{approval_id}"

    @property
    def _index(self) -> str:
        return f"{self.prefix}approvals"

    async def put(self, approval: Approval) -> None:
        key = self._key(approval.id)
        ttl_ms = max(1000, int((approval.expires_at + RETAIN_S - time.time()) * 1000))
        async with self._guard():
            pipe = self._client.pipeline(transaction=True)
            pipe.hset(key, mapping=_redis_fields(approval))
            pipe.pexpire(key, ttl_ms)
            pipe.zadd(self._index, {approval.id: approval.created_at})
            pipe.zremrangebyscore(self._index, "-inf", time.time() - RETAIN_S - 86400)
            await pipe.execute()

    async def get(self, approval_id: str) -> Approval | None:
        async with self._guard():
            raw = await self._client.hgetall(self._key(approval_id))
        return _from_redis(raw) if raw else None

    async def page(self, status: Status | None, limit: int, offset: int) -> tuple[list[Approval], int]:
        now = time.time()
        async with self._guard():
            ids = await self._client.zrevrange(self._index, 0, -1)
            pipe = self._client.pipeline(transaction=False)
            for approval_id in ids:
                pipe.hgetall(self._key(_text(approval_id)))
            rows = await pipe.execute() if ids else []
        found = [a for a in (_from_redis(r) for r in rows if r) if _matches(a, status, now)]
        return found[offset : offset + limit], len(found)

    async def transition(self, approval_id: str, to: Status, by: str | None, note: str, now: float) -> Approval | None:
        async with self._guard():
            moved = await self._client.eval(self._TRANSITION, 1, self._key(approval_id), to, by or "", note, repr(now))
        if int(moved) == -1:
            return None
        return await self.get(approval_id)

    async def check(self) -> None:
        async with self._guard():
            await self._client.ping()

    async def aclose(self) -> None:
        await self._client.aclose()

    def _guard(self) -> _Unreachable:
        return _Unreachable(safe_url(self.url))


def _redis_fields(approval: Approval) -> dict[str, str]:
    return {
        "record": approval.dumps(),
        "status": approval.status,
        "expires_at": repr(approval.expires_at),
        "decided_by": approval.decided_by or "",
        "note": approval.note,
        "decided_at": "" if approval.decided_at is None else repr(approval.decided_at),
    }


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _from_redis(raw: dict[Any, Any]) -> Approval:
    values = {_text(k): _text(v) for k, v in raw.items()}
    decided_at = float(values["decided_at"]) if values.get("decided_at") else None
    return Approval.from_json(
        json.loads(values["record"])
        | {
            "status": values["status"],
            "decided_by": values.get("decided_by") or None,
            "note": values.get("note", ""),
            "decided_at": decided_at,
        }
    )


class PostgresApprovals:
    TABLE = "mcp_hub_approvals"
    _COLUMNS = "record, status, decided_by, note, decided_at"

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self._pool: Any = small_pool(url, timeout_s=5.0)
        self._opened = False
        self._ready = False

    async def _run(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if not self._ready:
            await self.check()
        async with _Unreachable(self._where()):
            if not self._opened:
                await self._pool.open(wait=False)
                self._opened = True
            return await run_statement(self._pool, sql, params)

    async def put(self, approval: Approval) -> None:
        from psycopg.types.json import Jsonb

        await self._run(
            f"INSERT INTO {self.TABLE} (scope, id, created_at, expires_at, record, status, decided_by, note,"  # noqa: S608
            " decided_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                self.prefix,
                approval.id,
                approval.created_at,
                approval.expires_at,
                Jsonb(approval.to_json()),
                approval.status,
                approval.decided_by,
                approval.note,
                approval.decided_at,
            ),
        )
        await self._run(
            f"DELETE FROM {self.TABLE} WHERE scope = %s AND expires_at < %s",  # noqa: S608
            (self.prefix, time.time() - RETAIN_S),
        )

    async def get(self, approval_id: str) -> Approval | None:
        rows = await self._run(
            f"SELECT {self._COLUMNS} FROM {self.TABLE} WHERE scope = %s AND id = %s",  # noqa: S608
            (self.prefix, approval_id),
        )
        return _from_row(rows[0]) if rows else None

    async def page(self, status: Status | None, limit: int, offset: int) -> tuple[list[Approval], int]:
        now = time.time()
        # The effective status: a pending row past its expiry reads as expired.
        effective = "CASE WHEN status = 'pending' AND expires_at <= %s THEN 'expired' ELSE status END"
        where = "scope = %s" + (f" AND {effective} = %s" if status else "")
        params: tuple[Any, ...] = (self.prefix, now, status) if status else (self.prefix,)
        rows = await self._run(
            f"SELECT {self._COLUMNS}, count(*) OVER () FROM {self.TABLE} WHERE {where}"  # noqa: S608
            " ORDER BY created_at DESC, id LIMIT %s OFFSET %s",
            (*params, limit, offset),
        )
        if not rows and offset:
            total = await self._run(f"SELECT count(*) FROM {self.TABLE} WHERE {where}", params)  # noqa: S608
            return [], int(total[0][0])
        return [_from_row(r[:-1]) for r in rows], int(rows[0][-1]) if rows else 0

    async def transition(self, approval_id: str, to: Status, by: str | None, note: str, now: float) -> Approval | None:
        extra: tuple[float, ...]
        if to == "expired":
            when, extra = " AND expires_at <= %s", (now,)
        elif to == "cancelled":  # the waiter withdraws its own request, expired or not
            when, extra = "", ()
        else:
            when, extra = " AND expires_at > %s", (now,)
        await self._run(
            f"UPDATE {self.TABLE} SET status = %s, decided_by = %s, note = %s, decided_at = %s"  # noqa: S608
            f" WHERE scope = %s AND id = %s AND status = 'pending'{when}",
            (to, by, note, now, self.prefix, approval_id, *extra),
        )
        return await self.get(approval_id)

    async def check(self) -> None:
        create = (
            f"CREATE TABLE IF NOT EXISTS {self.TABLE} (scope text NOT NULL, id text NOT NULL,"
            " created_at double precision NOT NULL, expires_at double precision NOT NULL, record jsonb NOT NULL,"
            " status text NOT NULL, decided_by text, note text NOT NULL DEFAULT '', decided_at double precision,"
            " PRIMARY KEY (scope, id))"
        )
        async with _Unreachable(self._where()):
            import psycopg

            async with await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=2) as conn:
                await conn.execute(create)
                await conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {self.TABLE}_created ON {self.TABLE} (scope, created_at DESC)"
                )
        self._ready = True

    async def aclose(self) -> None:
        if self._opened:
            await self._pool.close()

    def _where(self) -> str:
        return postgres_where(self.url)


def _from_row(row: tuple[Any, ...]) -> Approval:
    record, status, decided_by, note, decided_at = row
    approval = Approval.from_json(dict(record) | {"status": status})
    approval.decided_by, approval.note, approval.decided_at = decided_by, note or "", decided_at
    return approval


class _Unreachable:
    """Turns a store failure into one `ConfigError` naming the store (never its password)."""

    def __init__(self, where: str) -> None:
        self.where = where

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None or isinstance(exc, ConfigError) or not isinstance(exc, Exception):
            return
        raise ConfigError(
            f"the approvals store at {self.where} failed ({type(exc).__name__}); "
            "check that it runs and that hub.state_url is right"
        ) from None


def open_approvals(url: str | None, prefix: str = "mcp-hub:") -> ApprovalStore:
    """The approvals store for `hub.state_url` (same rules as `mcp_hub.state.open_state`)."""
    if not url:
        return InProcessApprovals()
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss", "unix"):
        return RedisApprovals(url, prefix)
    if scheme in ("postgresql", "postgres") or (not scheme and "=" in url):
        return PostgresApprovals(url, prefix)
    raise ConfigError(
        f"hub.state_url: unsupported scheme {scheme!r} "
        "(use redis://host:6379/0, postgresql://user@host/db, or leave it unset)"
    )
