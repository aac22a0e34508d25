"""Holding off when the model endpoint is slow or failing, and a model client that reports to it.

A model call slower than `slow_s`, or one that fails (endpoint down, timeout, rate limited, overloaded),
pauses claiming for an exponentially growing delay (2, 4, … up to `max_s` seconds); a fast successful
call resets it. Jobs already running go on; queued ones wait in the store (nothing is lost), and the
pause shows in /healthz and /metrics.
"""

from __future__ import annotations

import time
from typing import Any

from model.client import ModelClient
from model.errors import ModelError
from model.wire import Completion


class Backpressure:
    def __init__(self, slow_s: float, max_s: float) -> None:
        self.slow_s = slow_s
        self.max_s = max_s
        self.level = 0
        self.until = 0.0
        self.reason = ""

    @property
    def active(self) -> bool:
        return time.monotonic() < self.until

    @property
    def remaining(self) -> float:
        return max(0.0, self.until - time.monotonic())

    def trip(self, reason: str) -> None:
        self.level += 1
        self.until = time.monotonic() + min(self.max_s, 2.0**self.level)
        self.reason = reason

    def observe(self, seconds: float) -> None:
        if seconds > self.slow_s:
            self.trip(f"a model call took {seconds:.1f}s (slow_call_s = {self.slow_s:g})")
        else:
            self.level = 0

    def to_json(self) -> dict[str, Any]:
        return {"active": self.active, "retry_in_s": round(self.remaining, 1), "reason": self.reason or None}


class MeteredClient(ModelClient):
    """A ModelClient whose calls feed the backpressure and the latency histogram."""

    def __init__(self, *args: Any, backpressure: Backpressure, histogram: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.backpressure = backpressure
        self.histogram = histogram

    async def complete(self, model: str, messages: list[dict[str, Any]], **params: Any) -> Completion:
        started = time.monotonic()
        try:
            completion = await super().complete(model, messages, **params)
        except ModelError as exc:
            self.backpressure.trip(f"model endpoint failing: {type(exc).__name__}")
            raise
        took = time.monotonic() - started
        if self.histogram is not None:
            self.histogram.observe(took)
        self.backpressure.observe(took)
        return completion
