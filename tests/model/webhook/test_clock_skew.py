"""Workers whose clocks disagree by an hour still agree on leases and retry delays, because the shared stores
(PostgreSQL, Redis) take the time from the server, never from the worker.

The skew is injected into the worker's own time source (`time.time`, what a store would read) around each
of its calls. The control: the same scenario on the SQLite store, which reads the worker's clock (right
for it: its processes share one host and so one clock), goes wrong in exactly the ways the test checks.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import anyio
import pytest

from model.webhook.store import Store
from tests.model.webhook.conftest import any_job

pytestmark = pytest.mark.anyio

T = TypeVar("T")
HOUR = 3600.0


class Clocks:
    """`time.time` as seen by whichever worker is calling (its offset from the true time)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)

    async def as_worker(self, offset: float, call: Callable[[], Awaitable[T]]) -> T:
        self.offset = offset
        try:
            return await call()
        finally:
            self.offset = 0.0


@pytest.fixture
def clocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clocks]:
    yield Clocks(monkeypatch)


LIVE_TAKEN = "a live lease was taken over by a worker whose clock is ahead"
EXPIRED_KEPT = "an expired lease was not taken over by a worker whose clock is behind"
RETRY_STRETCHED = "a retry delay was stretched by the clock of the worker that asked for it"


async def scenario(store: Store, clocks: Clocks) -> list[str]:
    """What goes wrong between workers an hour behind and an hour ahead: three independent checks."""
    wrong: list[str] = []
    live, expiring, retried = any_job(number=1), any_job(number=2), any_job(number=3)

    await store.enqueue(live)
    assert await clocks.as_worker(-HOUR, lambda: store.claim("behind", 60)) == live
    if await clocks.as_worker(+HOUR, lambda: store.claim("ahead", 60)) is not None:  # a live 60 s lease
        wrong.append(LIVE_TAKEN)
    await store.finish(live.key, "behind", "ok")

    await store.enqueue(expiring)
    assert await clocks.as_worker(+HOUR, lambda: store.claim("dying", 0.3)) == expiring
    await anyio.sleep(0.6)  # the 0.3 s lease has expired in real time
    if await clocks.as_worker(-HOUR, lambda: store.claim("behind", 60)) != expiring:
        wrong.append(EXPIRED_KEPT)
    await store.finish(expiring.key, "behind", "ok")

    await store.enqueue(retried)
    assert await clocks.as_worker(+HOUR, lambda: store.claim("ahead", 60)) == retried
    await clocks.as_worker(+HOUR, lambda: store.retry(retried.key, "ahead", 0.3))
    await anyio.sleep(0.6)  # due 0.3 s later for everyone
    again = await store.claim("on-time", 60)
    if again is None or again.key != retried.key:
        wrong.append(RETRY_STRETCHED)
    return wrong


@pytest.mark.parametrize("store_kind", ["postgres", "redis"])
async def test_leases_hold_across_skewed_worker_clocks(store: Store, clocks: Clocks) -> None:
    assert await scenario(store, clocks) == []


@pytest.mark.parametrize("store_kind", ["sqlite"])
async def test_the_scenario_catches_a_store_that_trusts_worker_clocks(store: Store, clocks: Clocks) -> None:
    assert await scenario(store, clocks) == [LIVE_TAKEN, EXPIRED_KEPT, RETRY_STRETCHED]
