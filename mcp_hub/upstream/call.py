"""The one call path to an upstream service: budget, worker thread, retries, error translation.

    upstream = Upstream("GitHub", settings, instance=instance, translate=translate, budget=budget)
    body = await upstream.run(sdk_function, arg, what="pull request o/r#5", idempotent=True)

Each attempt first checks the credential's shared `RateBudget` (nothing is
sent while another replica knows the budget is used up), then runs the sync SDK
call in the instance's `BlockingRunner` (`run`) or awaits an async SDK call
(`run_async`), under the hub's one retry policy (`mcp_hub.retry.retrying`:
rate limits always, 5xx/timeouts only when idempotent).

Errors: a `HubError` passes unchanged (the request guard's `PolicyDenied`
among them). Anything else goes to the connector's `translate(exc, what)`,
which returns a `HubError` for the SDK/network exceptions it knows and None for
the rest. None means the hub's own bug: it is logged with its traceback and
an incident id, and the caller sees an `InternalError` naming that id, never an
"upstream" error. A translator must therefore never catch everything.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp_hub.errors import HubError, InternalError
from mcp_hub.retry import RetryPolicy, retrying
from mcp_hub.state import RateBudget
from mcp_hub.threads import BlockingRunner
from mcp_hub.upstream.settings import UpstreamSettings

T = TypeVar("T")
log = logging.getLogger(__name__)

#: `(exc, what) -> HubError` for exceptions the connector recognises, else None (a bug in the hub).
Translate = Callable[[BaseException, str], HubError | None]
#: After an answer: `(until, reason)` when the service said its budget is spent, else None.
UsedUp = Callable[[], tuple[float, str] | None]


def internal_error(service: str, what: str, exc: BaseException) -> InternalError:
    """Log `exc` with its traceback under a fresh incident id; the error the caller sees."""
    incident = secrets.token_hex(4)
    log.error(
        "%s: unexpected %s while calling about %s (incident %s)",
        service,
        type(exc).__name__,
        what,
        incident,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return InternalError(
        f"the hub failed unexpectedly while asking {service} about {what} (a bug in the hub, not in {service}); "
        f"its log has the details (incident {incident}).",
        incident,
    )


class Upstream:
    """One connector instance's way to its service."""

    def __init__(
        self,
        service: str,
        settings: UpstreamSettings,
        *,
        translate: Translate,
        instance: str = "default",
        budget: RateBudget | None = None,
        used_up: UsedUp | None = None,
        max_concurrency: int = 4,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.service = service
        self.instance = instance
        self.translate = translate
        self.budget = budget
        self.used_up = used_up
        self.policy = policy or settings.retry_policy()
        self.runner = BlockingRunner(max_concurrency)

    def error(self, exc: BaseException, what: str) -> HubError:
        """The `HubError` for `exc`: itself, the connector's translation, or an `InternalError` (logged)."""
        if isinstance(exc, HubError):
            return exc
        found = self.translate(exc, what)
        return found if found is not None else internal_error(self.service, what, exc)

    async def run(self, fn: Callable[..., T], *args: Any, what: str, idempotent: bool) -> T:
        """`fn(*args)` (a blocking SDK call) in a worker thread, budgeted, retried, translated."""

        async def once() -> T:
            try:
                return await self.runner.run(fn, *args)
            except Exception as exc:
                raise self.error(exc, what) from None

        return await self._attempts(once, idempotent)

    async def run_async(self, call: Callable[[], Awaitable[T]], *, what: str, idempotent: bool) -> T:
        """`await call()` (an async SDK call), budgeted, retried, translated."""

        async def once() -> T:
            try:
                return await call()
            except Exception as exc:
                raise self.error(exc, what) from None

        return await self._attempts(once, idempotent)

    async def _attempts(self, once: Callable[[], Awaitable[T]], idempotent: bool) -> T:
        async def attempt() -> T:
            if self.budget is None:
                return await once()
            return await self.budget.guard(once, self.used_up)

        return await retrying(attempt, policy=self.policy, idempotent=idempotent)
