"""Per-caller call rates for HTTP callers: N calls a minute per token or OIDC subject.

Counted in the hub's shared state (`hub.state_url`, `mcp_hub.state`), so every replica
adds to one count per caller and window; in-process when no state URL is set. The
window is a fixed minute of the epoch clock (`<prefix>callrate:<hash>:<minute>`, the
hash being of the caller's kind and name, so the name itself is never stored); a
caller over its limit is answered 429 with `Retry-After` up to the next minute.
Fixed windows allow up to twice the rate across one boundary: a limit here guards the
hub and its upstream budgets against a runaway client, it is not a billing meter.

If the shared store fails, each replica counts on its own (a warning is logged by the
store), as the upstream budgets do: the limit becomes per replica, never off.
"""

from __future__ import annotations

import hashlib
import math
import time

from mcp_hub.state import InProcessState, StateStore

WINDOW_S = 60.0


class CallRate:
    def __init__(self, store: StateStore, window_s: float = WINDOW_S) -> None:
        self.store = store
        self.window_s = window_s
        self._local = InProcessState()

    async def admit(self, identity: str, limit: int) -> int | None:
        """None when `identity` may make one more call now (it is counted); else the seconds to wait."""
        now = time.time()
        window = int(now // self.window_s)
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        key = f"callrate:{digest}:{window}"
        ttl = self.window_s * 2  # outlives the window on every replica, whatever its clock says
        count = await self.store.incr(key, ttl)
        if count is None:
            count = await self._local.incr(key, ttl)
        if count <= limit:
            return None
        return max(1, math.ceil((window + 1) * self.window_s - now))
