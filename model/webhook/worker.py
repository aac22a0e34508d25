"""Claims jobs from the store and runs them: bounded concurrency, leases renewed while a job runs, retries
with backoff for passing failures, and no claiming while the model endpoint is under backpressure.

On shutdown the running jobs are cancelled and handed back to the queue at once (a worker that is killed
instead leaves its jobs to be taken over when their leases expire).

A store outage is never the job's fault and never ends the worker: a renewal that fails is logged and
tried again at the next tick, and a finish or retry that fails is tried again with backoff (up to
STORE_BACKOFF_MAX_S apart) until the store answers or the worker stops (its lease then hands the job on).
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Awaitable, Callable

import anyio

from mcp_hub.errors import HubError, RateLimited, UpstreamTimeout, UpstreamUnavailable
from mcp_hub.logs import EventLog
from model.errors import ModelError
from model.webhook.backpressure import Backpressure
from model.webhook.jobs import Job
from model.webhook.metrics import Metrics
from model.webhook.store import Store

Runner = Callable[[Job], Awaitable[str]]

#: The longest wait between two tries of a finish or retry the store refused (it backs off from poll_s).
STORE_BACKOFF_MAX_S = 30.0
#: How long a stopping worker tries to hand a job back before leaving it to its lease.
HAND_BACK_S = 5.0


class Worker:
    def __init__(
        self,
        store: Store,
        runner: Runner,
        *,
        concurrency: int = 2,
        lease_s: float = 600,
        poll_s: float = 1.0,
        max_attempts: int = 5,
        backpressure: Backpressure | None = None,
        metrics: Metrics | None = None,
        log: EventLog | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.max_attempts = max_attempts
        self.backpressure = backpressure or Backpressure(slow_s=float("inf"), max_s=1)
        self.metrics = metrics
        self.log = log or EventLog()
        self.id = f"{socket.gethostname()}-{secrets.token_hex(4)}"
        self.running: set[str] = set()

    async def run(self, stop: anyio.Event) -> None:
        limiter = anyio.Semaphore(self.concurrency)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._watch, stop, tg.cancel_scope)
            while not stop.is_set():
                if self.backpressure.active:
                    await _sleep_or_stop(stop, min(self.poll_s, self.backpressure.remaining) or self.poll_s)
                    continue
                await limiter.acquire()
                if self.backpressure.active:  # tripped by a job that ended while this loop waited for a slot
                    limiter.release()
                    continue
                try:
                    job = await self.store.claim(self.id, self.lease_s)
                except Exception as exc:  # the store is down: say so and try again
                    limiter.release()
                    self.log("store_error", "error", error=type(exc).__name__, message=str(exc)[:300])
                    await _sleep_or_stop(stop, self.poll_s * 5)
                    continue
                if job is None:
                    limiter.release()
                    await _sleep_or_stop(stop, self.poll_s)
                    continue
                tg.start_soon(self._execute, job, limiter)

    async def _watch(self, stop: anyio.Event, scope: anyio.CancelScope) -> None:
        await stop.wait()
        scope.cancel()

    async def _execute(self, job: Job, limiter: anyio.Semaphore) -> None:
        started = time.monotonic()
        self.running.add(job.key)
        self.log("job_started", key=job.key, kind=job.kind, attempt=job.attempts + 1, worker=self.id)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._renew, job)
                try:
                    outcome = await self.runner(job)
                finally:
                    tg.cancel_scope.cancel()
        except anyio.get_cancelled_exc_class():
            with anyio.move_on_after(HAND_BACK_S, shield=True):
                try:
                    await self.store.retry(job.key, self.id, 0)
                    self.log("job_returned", "warning", key=job.key, reason="worker stopping")
                except Exception as exc:  # the store is down: the lease hands the job on when it expires
                    self._store_error(exc, key=job.key, operation="retry")
            raise
        except Exception as exc:  # the job failed: retry or record, never crash the worker
            await self._failed(job, _unwrap(exc), time.monotonic() - started)
        else:
            await self._until_stored("finish", job.key, lambda: self.store.finish(job.key, self.id, outcome))
            self._count(job, "done", time.monotonic() - started)
            self.log("job_finished", key=job.key, outcome=outcome, seconds=round(time.monotonic() - started, 3))
        finally:
            self.running.discard(job.key)
            limiter.release()

    async def _failed(self, job: Job, exc: BaseException, took: float) -> None:
        message = exc.message if isinstance(exc, HubError) else type(exc).__name__
        passing = isinstance(exc, ModelError | RateLimited | UpstreamTimeout | UpstreamUnavailable)
        if (passing or not isinstance(exc, HubError)) and job.attempts + 1 < self.max_attempts:
            delay = min(300.0, 5.0 * 2**job.attempts)
            await self._until_stored("retry", job.key, lambda: self.store.retry(job.key, self.id, delay))
            self._count(job, "retried", took)
            self.log("job_retry", "warning", key=job.key, error=message, retry_in_s=delay, attempt=job.attempts + 1)
            return
        failed = f"failed: {message}"[:500]
        await self._until_stored("finish", job.key, lambda: self.store.finish(job.key, self.id, failed))
        self._count(job, "failed", took)
        self.log("job_failed", "error", key=job.key, error=message, attempts=job.attempts + 1)

    async def _renew(self, job: Job) -> None:
        while True:
            await anyio.sleep(max(0.2, self.lease_s / 3))
            try:
                renewed = await self.store.renew(job.key, self.id, self.lease_s)
            except Exception as exc:  # the store is down: not the job's failure; the next tick tries again
                self._store_error(exc, key=job.key, operation="renew")
                continue
            if not renewed:
                self.log("lease_lost", "warning", key=job.key, worker=self.id)

    async def _until_stored(self, operation: str, key: str, write: Callable[[], Awaitable[None]]) -> None:
        """`write` (a finish or retry, both safe to apply twice) until the store takes it; cancelled only when
        the worker stops."""
        wait = self.poll_s
        while True:
            try:
                await write()
                return
            except Exception as exc:
                self._store_error(exc, key=key, operation=operation, retry_in_s=round(wait, 3))
            await anyio.sleep(wait)
            wait = min(STORE_BACKOFF_MAX_S, wait * 2)

    def _store_error(self, exc: Exception, **fields: object) -> None:
        self.log("store_error", "error", error=type(exc).__name__, message=str(exc)[:300], **fields)

    def _count(self, job: Job, outcome: str, took: float) -> None:
        if self.metrics is not None:
            self.metrics.jobs.labels(job.kind, outcome).inc()
            self.metrics.duration.labels(job.kind).observe(took)


def _unwrap(exc: BaseException) -> BaseException:
    """The first HubError inside an exception group (the MCP client wraps what a workflow raised)."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _unwrap(inner)
            if isinstance(found, HubError):
                return found
        return exc.exceptions[0] if exc.exceptions else exc
    return exc


async def _sleep_or_stop(stop: anyio.Event, seconds: float) -> None:
    with anyio.move_on_after(seconds):
        await stop.wait()
