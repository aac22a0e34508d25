"""State that matters across replicas of the hub: rate-limit budgets per upstream credential.

In-process by default (one hub process, nothing to run). With `[hub] state_url =
"redis://host:6379/0"` the budgets live in Redis (or, with `postgresql://…`, in a table
`mcp_hub_state` of that database), so when one replica learns that
an upstream credential is throttled (GitHub's `x-ratelimit-remaining: 0` until
reset, a `Retry-After`), every replica answers with the same actionable
`RateLimited` error without sending the request. Keys are
`<state_prefix>ratelimit:<connector>:<hash>`, the hash being of the credential and
the base URL: the credential itself is never stored. A service whose limits are per
method (Slack) adds the method: `…:<hash>:<method>`. The Redis client (`redis`
extra) is imported only when a Redis URL is configured.

If the store becomes unreachable while serving, a replica falls back to what it knows
itself (and logs a warning): a shared budget is an optimisation, not a lock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from mcp_hub.errors import ConfigError, RateLimited
from mcp_hub.install import install_hint

log = logging.getLogger(__name__)
T = TypeVar("T")


class StateStore(Protocol):
    """A tiny key-value store with expiry; values are short strings."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl_s: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def incr(self, key: str, ttl_s: float) -> int | None:
        """Add one to a counter and return it; a new counter expires after `ttl_s`. None when the
        store could not be reached (the caller falls back to counting in-process)."""

    async def check(self) -> None:
        """Raise `ConfigError` when the store cannot be reached (called as the hub starts)."""

    async def aclose(self) -> None: ...


class InProcessState:
    """The default: a dict with expiry, shared by the connector instances of one process."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self._items: dict[str, tuple[str, float]] = {}

    async def get(self, key: str) -> str | None:
        item = self._items.get(self.prefix + key)
        if item is None:
            return None
        if item[1] <= time.time():
            self._items.pop(self.prefix + key, None)
            return None
        return item[0]

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        self._items[self.prefix + key] = (value, time.time() + max(ttl_s, 0.001))

    async def delete(self, key: str) -> None:
        self._items.pop(self.prefix + key, None)

    async def incr(self, key: str, ttl_s: float) -> int:
        now = time.time()
        item = self._items.get(self.prefix + key)
        if item is None or item[1] <= now:
            item = ("0", now + max(ttl_s, 0.001))
        count = int(item[0]) + 1
        self._items[self.prefix + key] = (str(count), item[1])
        return count

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


def warn_degraded(last_warned: float, where: str, exc: Exception) -> float:
    """Log (at most once a minute) that a shared store failed; returns when it last warned."""
    now = time.monotonic()
    if now - last_warned <= 60:
        return last_warned
    log.warning("shared state at %s failed (%s); using this replica's own knowledge", where, type(exc).__name__)
    return now


class RedisState:
    """Redis (`redis>=5`, asyncio API); connects lazily on first use."""

    def __init__(self, url: str, prefix: str) -> None:
        try:
            import redis.asyncio
        except ImportError:
            raise ConfigError(
                "hub.state_url names Redis but the redis client is not installed: " + install_hint("redis")
            ) from None
        self.url = url
        self.prefix = prefix
        self._client: Any = redis.asyncio.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._warned_at = 0.0

    async def get(self, key: str) -> str | None:
        try:
            value = await self._client.get(self.prefix + key)
        except Exception as exc:
            self._warn(exc)
            return None
        return value.decode() if isinstance(value, bytes) else value

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        try:
            await self._client.set(self.prefix + key, value, px=max(1, int(ttl_s * 1000)))
        except Exception as exc:
            self._warn(exc)

    async def delete(self, key: str) -> None:
        try:
            await self._client.delete(self.prefix + key)
        except Exception as exc:
            self._warn(exc)

    #: INCR, and the expiry only on the counter's first increment: one atomic step for every replica.
    _INCR = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n"

    async def incr(self, key: str, ttl_s: float) -> int | None:
        try:
            return int(await self._client.eval(self._INCR, 1, self.prefix + key, max(1, int(ttl_s * 1000))))
        except Exception as exc:
            self._warn(exc)
            return None

    async def check(self) -> None:
        try:
            await self._client.ping()
        except Exception as exc:
            raise ConfigError(
                f"shared state at {safe_url(self.url)} is unreachable ({type(exc).__name__}); "
                "start Redis or unset hub.state_url"
            ) from None

    async def aclose(self) -> None:
        await self._client.aclose()

    def _warn(self, exc: Exception) -> None:
        self._warned_at = warn_degraded(self._warned_at, safe_url(self.url), exc)


def small_pool(url: str, *, timeout_s: float) -> Any:
    """A pool of at most two autocommit connections, opened on first use, for the hub's own small tables
    on `hub.state_url` (this shared state, the approvals queue); ConfigError naming the extra without psycopg."""
    try:
        from psycopg_pool import AsyncConnectionPool
    except ImportError:
        raise ConfigError(
            "hub.state_url names PostgreSQL but psycopg is not installed: " + install_hint("postgres")
        ) from None
    return AsyncConnectionPool(
        url, min_size=0, max_size=2, timeout=timeout_s, kwargs={"autocommit": True, "connect_timeout": 2}, open=False
    )


def postgres_where(url: str) -> str:
    """Host and database of a PostgreSQL URL or key=value DSN, for messages; never the password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:
        return "PostgreSQL"
    return f"PostgreSQL {parts.get('host') or 'localhost'}/{parts.get('dbname') or ''}"


async def run_statement(pool: Any, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """One autocommit statement on a `small_pool`: its rows, or none."""
    async with pool.connection() as conn:
        cursor = await conn.execute(sql, params)
        return list(await cursor.fetchall()) if cursor.description else []


class PostgresState:
    """PostgreSQL (psycopg 3, the `postgres` extra): one small table, rows with an expiry.

    For teams that run PostgreSQL but not Redis. Each call is one short autocommit
    statement on a pool of at most two connections; expired rows are never read and are
    deleted now and then by `set`.
    """

    TABLE = "mcp_hub_state"

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self._pool: Any = small_pool(url, timeout_s=2.0)
        self._opened = False
        self._down_until = 0.0
        self._sets = 0
        self._warned_at = 0.0

    #: After a failure the store is not tried again for this long: a tool call must not wait for the
    #: pool's timeout every time while the database is down.
    RETRY_AFTER_S = 10.0

    async def _run(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if time.monotonic() < self._down_until:
            raise ConnectionError("the shared state failed recently")
        if not self._opened:
            await self._pool.open(wait=False)
            self._opened = True
        try:
            return await run_statement(self._pool, sql, params)
        except Exception:
            self._down_until = time.monotonic() + self.RETRY_AFTER_S
            raise

    async def get(self, key: str) -> str | None:
        sql = f"SELECT value FROM {self.TABLE} WHERE key = %s AND expires_at > clock_timestamp()"  # noqa: S608
        try:
            rows = await self._run(sql, (self.prefix + key,))
        except Exception as exc:
            self._warn(exc)
            return None
        return str(rows[0][0]) if rows else None

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        sql = (
            f"INSERT INTO {self.TABLE} (key, value, expires_at)"  # noqa: S608
            " VALUES (%s, %s, clock_timestamp() + make_interval(secs => %s))"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
        )
        try:
            await self._run(sql, (self.prefix + key, value, max(ttl_s, 0.001)))
            self._sets += 1
            if self._sets % 100 == 0:
                await self._run(f"DELETE FROM {self.TABLE} WHERE expires_at < clock_timestamp()", ())  # noqa: S608
        except Exception as exc:
            self._warn(exc)

    async def delete(self, key: str) -> None:
        try:
            await self._run(f"DELETE FROM {self.TABLE} WHERE key = %s", (self.prefix + key,))  # noqa: S608
        except Exception as exc:
            self._warn(exc)

    async def incr(self, key: str, ttl_s: float) -> int | None:
        live = "s.expires_at > clock_timestamp()"
        sql = (
            f"INSERT INTO {self.TABLE} AS s (key, value, expires_at)"  # noqa: S608
            " VALUES (%s, '1', clock_timestamp() + make_interval(secs => %s))"
            f" ON CONFLICT (key) DO UPDATE SET value = CASE WHEN {live} THEN (s.value::bigint + 1)::text ELSE '1' END,"
            f" expires_at = CASE WHEN {live} THEN s.expires_at ELSE excluded.expires_at END"
            " RETURNING value"
        )
        try:
            rows = await self._run(sql, (self.prefix + key, max(ttl_s, 0.001)))
        except Exception as exc:
            self._warn(exc)
            return None
        return int(rows[0][0])

    async def check(self) -> None:
        create = (
            f"CREATE TABLE IF NOT EXISTS {self.TABLE}"
            " (key text PRIMARY KEY, value text NOT NULL, expires_at timestamptz NOT NULL)"
        )
        try:  # its own connection: a refused one fails at once instead of after the pool's timeout
            import psycopg

            async with await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=2) as conn:
                await conn.execute(create)
        except Exception as exc:
            self._down_until = time.monotonic() + self.RETRY_AFTER_S
            raise ConfigError(
                f"shared state at {self._where()} is unusable ({type(exc).__name__}); the role needs to "
                f"reach the database and create (or use) the table {self.TABLE}; or unset hub.state_url"
            ) from None

    async def aclose(self) -> None:
        if self._opened:
            await self._pool.close()

    def _where(self) -> str:
        return postgres_where(self.url)

    def _warn(self, exc: Exception) -> None:
        self._warned_at = warn_degraded(self._warned_at, self._where(), exc)


def open_state(url: str | None, prefix: str = "mcp-hub:") -> StateStore:
    """The store for `hub.state_url`: None (in-process), `redis://` / `rediss://` / `unix://`, or
    PostgreSQL (`postgresql://…` or a key=value DSN)."""
    if not url:
        return InProcessState(prefix)
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss", "unix"):
        return RedisState(url, prefix)
    if scheme in ("postgresql", "postgres") or (not scheme and "=" in url):  # a URL or a key=value DSN
        return PostgresState(url, prefix)
    raise ConfigError(
        f"hub.state_url: unsupported scheme {scheme!r} "
        "(use redis://host:6379/0, postgresql://user@host/db, or leave it unset)"
    )


def safe_url(url: str) -> str:
    """`url` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def credential_key(connector: str, *parts: str | None, scope: str | None = None) -> str:
    """A stable key for an upstream credential (token, base URL, …) that does not reveal it.

    `scope` narrows the budget to part of what the credential may do, for services whose
    limits are per method (Slack's `conversations.history`); it is kept readable.
    """
    digest = hashlib.sha256("\0".join(p or "" for p in parts).encode()).hexdigest()[:32]
    return f"ratelimit:{connector}:{digest}" + (f":{scope}" if scope else "")


@dataclass(slots=True)
class RateBudget:
    """One upstream credential's rate-limit state, shared through a `StateStore`.

    `check()` raises the recorded `RateLimited` (with the time left) while the
    budget is used up; `block()` records a new limit; `clear()` forgets it early
    (the upstream answered again).
    """

    store: StateStore
    key: str
    _published_until: float = 0.0

    async def check(self) -> None:
        raw = await self.store.get(self.key)
        if raw is None:
            return
        try:
            data = json.loads(raw)
            until, message = float(data["until"]), str(data["message"])
        except (ValueError, KeyError, TypeError):
            return
        wait = until - time.time()
        if wait > 0:
            raise RateLimited(message, retry_after=wait)

    async def block(self, until: float, message: str) -> None:
        """Record that the credential is throttled until `until` (epoch seconds)."""
        ttl = until - time.time()
        if ttl <= 0 or until <= self._published_until + 1.0:  # already published (give or take rounding)
            return
        self._published_until = until
        await self.store.set(self.key, json.dumps({"until": until, "message": message}), ttl)

    async def clear(self) -> None:
        if self._published_until > time.time():
            self._published_until = 0.0
            await self.store.delete(self.key)

    async def guard(
        self, send: Callable[[], Awaitable[T]], used_up: Callable[[], tuple[float, str] | None] | None = None
    ) -> T:
        """`send()` unless the budget is used up; what it learns is published for the other replicas.

        A `RateLimited` with a wait (`Retry-After`) blocks the budget for that long. After an
        answer, `used_up()` says whether the service reported its last request spent (e.g. a
        remaining count of 0): `(until, reason)` blocks the budget until then; `None` clears
        what this replica had published (the service answers again).
        """
        await self.check()
        try:
            result = await send()
        except RateLimited as exc:
            if exc.retry_after is not None:
                await self.block(time.time() + exc.retry_after, exc.reason)
            raise
        spent = used_up() if used_up is not None else None
        if spent is not None:
            await self.block(*spent)
        else:
            await self.clear()
        return result
