"""The store in Redis (redis-py >= 5, asyncio): each operation is one Lua script, so it is atomic across every
worker process sharing the server.

Time is the server's (`TIME` inside each script), never the worker's: workers whose clocks disagree still
agree on when a lease ends. Finished keys are remembered `done_ttl_s`, then pruned a batch at a time as
jobs finish.

Keys (under the prefix P): `P:job:KEY` (hash: payload, grp, state, attempts, not_before, lease_until,
worker), `P:jobs` (sorted set of active job keys by arrival), `P:grp:GROUP` (set of a group's job keys),
`P:done` (hash: key -> outcome), `P:done_at` (sorted set: key by finishing time), `P:delivery:ID`
(string with a TTL).
"""

from __future__ import annotations

from typing import Any

from mcp_hub.errors import ConfigError
from model.webhook.jobs import Job
from model.webhook.store import DONE_TTL_S, PRUNE_BATCH, Enqueued

#: The server's clock in seconds (scripts are replicated by their effects, so TIME is allowed).
NOW = """
local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

#: Queue a job (ARGV[2..4]: key, group, payload) unless its key is done or already there.
ENQUEUE_FN = """
local function enqueue(p, key, grp, payload, now)
  if redis.call('HEXISTS', p .. ':done', key) == 1 then return {'done', 0} end
  if redis.call('EXISTS', p .. ':job:' .. key) == 1 then return {'duplicate', 0} end
  local superseded = 0
  for _, other in ipairs(redis.call('SMEMBERS', p .. ':grp:' .. grp)) do
    if redis.call('HGET', p .. ':job:' .. other, 'state') == 'queued' then
      redis.call('DEL', p .. ':job:' .. other)
      redis.call('ZREM', p .. ':jobs', other)
      redis.call('SREM', p .. ':grp:' .. grp, other)
      superseded = superseded + 1
    end
  end
  redis.call('HSET', p .. ':job:' .. key, 'payload', payload, 'grp', grp, 'state', 'queued', 'attempts', 0,
             'not_before', 0, 'lease_until', 0, 'worker', '')
  redis.call('ZADD', p .. ':jobs', now, key)
  redis.call('SADD', p .. ':grp:' .. grp, key)
  return {'queued', superseded}
end
"""

ENQUEUE = (
    ENQUEUE_FN
    + """
return enqueue(ARGV[1], ARGV[2], ARGV[3], ARGV[4], server_now())
"""
)

#: A delivery remembered (ARGV[5], TTL ARGV[6] ms) and its job queued, both or neither. A script is not rolled
#: back when a command in it fails, so the delivery is written last, once the job is in.
ACCEPT = (
    ENQUEUE_FN
    + """
local delivery = ARGV[1] .. ':delivery:' .. ARGV[5]
if redis.call('EXISTS', delivery) == 1 then return false end
local out = enqueue(ARGV[1], ARGV[2], ARGV[3], ARGV[4], server_now())
redis.call('SET', delivery, '1', 'PX', ARGV[6])
return out
"""
)

CLAIM = """
local p, worker, now, lease = ARGV[1], ARGV[2], server_now(), tonumber(ARGV[3])
local function live(k)
  local s = redis.call('HMGET', p .. ':job:' .. k, 'state', 'lease_until')
  return s[1] == 'running' and tonumber(s[2]) >= now
end
for _, key in ipairs(redis.call('ZRANGE', p .. ':jobs', 0, 499)) do
  local j = redis.call('HMGET', p .. ':job:' .. key, 'state', 'not_before', 'lease_until', 'grp', 'payload', 'attempts')
  local ok = (j[1] == 'queued' and tonumber(j[2]) <= now) or (j[1] == 'running' and tonumber(j[3]) < now)
  if ok then
    for _, other in ipairs(redis.call('SMEMBERS', p .. ':grp:' .. j[4])) do
      if other ~= key and live(other) then ok = false end
    end
  end
  if ok then
    redis.call('HSET', p .. ':job:' .. key, 'state', 'running', 'worker', worker, 'lease_until', now + lease)
    return {j[5], j[6]}
  end
end
return false
"""

RENEW = """
local p, key, worker, until_ = ARGV[1], ARGV[2], ARGV[3], server_now() + tonumber(ARGV[4])
local j = redis.call('HMGET', p .. ':job:' .. key, 'state', 'worker')
if j[1] == 'running' and j[2] == worker then
  redis.call('HSET', p .. ':job:' .. key, 'lease_until', until_)
  return 1
end
return 0
"""

RETRY = """
local p, key, worker, not_before = ARGV[1], ARGV[2], ARGV[3], server_now() + tonumber(ARGV[4])
if redis.call('HGET', p .. ':job:' .. key, 'worker') == worker then
  redis.call('HSET', p .. ':job:' .. key, 'state', 'queued', 'not_before', not_before, 'worker', '')
  redis.call('HINCRBY', p .. ':job:' .. key, 'attempts', 1)
end
return 0
"""

FINISH = """
local p, key, outcome, ttl, batch = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local now = server_now()
if redis.call('HSETNX', p .. ':done', key, outcome) == 1 then redis.call('ZADD', p .. ':done_at', now, key) end
for _, old in ipairs(redis.call('ZRANGEBYSCORE', p .. ':done_at', '-inf', '(' .. (now - ttl), 'LIMIT', 0, batch)) do
  redis.call('HDEL', p .. ':done', old)
  redis.call('ZREM', p .. ':done_at', old)
end
local grp = redis.call('HGET', p .. ':job:' .. key, 'grp')
if grp then redis.call('SREM', p .. ':grp:' .. grp, key) end
redis.call('DEL', p .. ':job:' .. key)
redis.call('ZREM', p .. ':jobs', key)
return 0
"""

COUNTS = """
local p, now = ARGV[1], server_now()
local queued, running = 0, 0
for _, key in ipairs(redis.call('ZRANGE', p .. ':jobs', 0, -1)) do
  local j = redis.call('HMGET', p .. ':job:' .. key, 'state', 'lease_until')
  if j[1] == 'running' and tonumber(j[2]) >= now then running = running + 1 else queued = queued + 1 end
end
return {queued, running, redis.call('HLEN', p .. ':done')}
"""


class RedisStore:
    def __init__(self, url: str, prefix: str, *, done_ttl_s: float = DONE_TTL_S) -> None:
        self._url = url
        self._p = prefix
        self._done_ttl_s = float(done_ttl_s)
        self._r: Any = None
        self._scripts: dict[str, Any] = {}

    async def open(self) -> None:
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        self._r = aioredis.Redis.from_url(self._url, decode_responses=True)
        try:
            await self._r.ping()
        except RedisError:
            await self._r.aclose()
            raise ConfigError("cannot reach the webhook store's Redis (check [webhook] store)") from None
        for name, source in (
            ("enqueue", ENQUEUE),
            ("accept", ACCEPT),
            ("claim", CLAIM),
            ("renew", RENEW),
            ("retry", RETRY),
            ("finish", FINISH),
            ("counts", COUNTS),
        ):
            self._scripts[name] = self._r.register_script(NOW + source)

    async def close(self) -> None:
        if self._r is not None:
            r, self._r = self._r, None
            await r.aclose()

    async def _run(self, name: str, *args: Any) -> Any:
        return await self._scripts[name](keys=[], args=[self._p, *args])

    async def remember_delivery(self, delivery: str, ttl_s: float) -> bool:
        ok = await self._r.set(f"{self._p}:delivery:{delivery}", "1", nx=True, px=max(1, int(ttl_s * 1000)))
        return bool(ok)

    async def accept(self, delivery: str, ttl_s: float, job: Job) -> Enqueued | None:
        """The delivery remembered and its job queued in one script (None: a replay, nothing queued)."""
        out = await self._run("accept", job.key, job.group, job.dumps(), delivery, max(1, int(ttl_s * 1000)))
        if not out:
            return None
        status, superseded = out
        return Enqueued(str(status), int(superseded))

    async def forget_delivery(self, delivery: str) -> None:
        await self._r.delete(f"{self._p}:delivery:{delivery}")

    async def enqueue(self, job: Job) -> Enqueued:
        status, superseded = await self._run("enqueue", job.key, job.group, job.dumps())
        return Enqueued(str(status), int(superseded))

    async def claim(self, worker: str, lease_s: float) -> Job | None:
        found = await self._run("claim", worker, lease_s)
        if not found:
            return None
        payload, attempts = found
        return Job.loads(payload, int(attempts))

    async def renew(self, key: str, worker: str, lease_s: float) -> bool:
        return bool(await self._run("renew", key, worker, lease_s))

    async def retry(self, key: str, worker: str, delay_s: float) -> None:
        await self._run("retry", key, worker, delay_s)

    async def finish(self, key: str, worker: str, outcome: str) -> None:
        await self._run("finish", key, outcome, self._done_ttl_s, PRUNE_BATCH)

    async def outcome(self, key: str) -> str | None:
        value = await self._r.hget(f"{self._p}:done", key)
        return None if value is None else str(value)

    async def counts(self) -> dict[str, int]:
        queued, running, done = await self._run("counts")
        return {"queued": int(queued), "running": int(running), "done": int(done)}
