"""Running blocking SDK calls (PyGithub, python-gitlab, google-api-python-client) off the event loop.

Each connector instance owns a `BlockingRunner` with its own concurrency
bound, so one slow service cannot take every worker thread. A cancelled call
returns at once; the thread finishes its request in the background and its
result is dropped (an HTTP request in flight cannot be interrupted).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter

T = TypeVar("T")


class BlockingRunner:
    def __init__(self, max_concurrency: int = 4) -> None:
        self._limiter = CapacityLimiter(max_concurrency)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        call = functools.partial(fn, *args, **kwargs) if kwargs else functools.partial(fn, *args)
        return await anyio.to_thread.run_sync(call, limiter=self._limiter, abandon_on_cancel=True)
