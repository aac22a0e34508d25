"""The guard's hook for SDKs built on `requests` (PyGithub, python-gitlab).

`requests` sends every request, redirects included, through the transport
adapter mounted on its session (`HTTPAdapter.send`), with the final prepared
URL (after `requests`/urllib3 removed dot segments and re-quoted it). A
`GuardedAdapter` checks that URL with the instance's `RequestGuard`, records the
`Target` in the current journal, and only then sends. Mount it with
`guard_session(session, guard)` on the session the SDK really uses:

- python-gitlab takes a `session=` argument: build it, call `guard_session`, pass it in.
- PyGithub builds its own sessions inside its connection classes: see
  `connectors/github/transport.py`, which gives the requester guarded connection classes.

Imports `requests`: import this module only where the SDK is loaded.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from mcp_hub.upstream.guard import RequestGuard
from mcp_hub.upstream.journal import current_journal


class GuardedAdapter(HTTPAdapter):
    """An `HTTPAdapter` that sends nothing the guard refuses."""

    def __init__(self, guard: RequestGuard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guard = guard

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        journal = current_journal()
        origin = journal.answered if journal is not None and journal.follow_redirects else None
        body = request.body.encode() if isinstance(request.body, str) else request.body
        target = self.guard.check(
            str(request.method or "GET"),
            str(request.url or ""),
            redirect_from=origin,
            body=body if isinstance(body, bytes) else None,
        )
        if journal is not None:
            journal.record(target)
        return super().send(request, *args, **kwargs)


def guard_session(session: requests.Session, guard: RequestGuard, **adapter_kwargs: Any) -> GuardedAdapter:
    """Mount one `GuardedAdapter` for http:// and https:// on `session` (replacing its adapters).

    `adapter_kwargs` go to `HTTPAdapter` (pool sizes, `max_retries`: keep it 0, the hub retries).
    """
    adapter_kwargs.setdefault("max_retries", 0)
    adapter = GuardedAdapter(guard, **adapter_kwargs)
    session.adapters.clear()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return adapter
