"""The hub's one retry policy for upstream services.

SDKs' own retry and throttling are turned off; connectors raise `RateLimited`
(with the service's `Retry-After`/reset when known) or `UpstreamUnavailable`
(5xx, connection reset) and wrap their upstream calls in `retrying(...)`.
Waits are bounded and jittered ("full jitter"), so many clients never retry in
lockstep; a wait longer than the policy allows is not slept through: the error
goes to the caller, saying when to retry.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio

from mcp_hub.client_log import tell_client
from mcp_hub.errors import RateLimited, UpstreamTimeout, UpstreamUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    #: Attempts in all, the first included.
    attempts: int = 3
    #: First backoff ceiling in seconds; doubles each retry, up to `max_delay`.
    base_delay: float = 0.5
    max_delay: float = 8.0
    #: A `retry_after` longer than this is returned to the caller instead of slept through.
    max_wait: float = 20.0
    #: Retry an idempotent call that timed out (False where a timeout already cost minutes: a model call).
    timeouts: bool = True


DEFAULT_POLICY = RetryPolicy()


async def retrying(
    call: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    idempotent: bool = True,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> T:
    """Run `call`, retrying rate limits always and 5xx/timeouts only when `idempotent`.

    A write that timed out may have happened: it is not retried unless the
    caller says the call is idempotent.
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except RateLimited as exc:
            if attempt == policy.attempts or (exc.retry_after is not None and exc.retry_after > policy.max_wait):
                raise
            delay = exc.retry_after if exc.retry_after is not None else _backoff(policy, attempt)
        except (UpstreamUnavailable, UpstreamTimeout) as exc:
            if (
                not idempotent
                or attempt == policy.attempts
                or (isinstance(exc, UpstreamTimeout) and not policy.timeouts)
            ):
                raise
            delay = _backoff(policy, attempt)
        log.info("upstream busy or failing; retry %d/%d in %.2f s", attempt, policy.attempts - 1, delay)
        # The client sees why the call is slow (MCP logging; only if it asked for warnings).
        await tell_client(
            "warning", f"upstream busy or failing; retry {attempt}/{policy.attempts - 1} in {delay:.1f} s"
        )
        await sleep(delay)
    raise AssertionError("unreachable")


def _backoff(policy: RetryPolicy, attempt: int) -> float:
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
