"""The guard's hook for SDKs built on httplib2 (google-api-python-client).

googleapiclient sends every request it builds through one object:
`HttpRequest.execute` -> `http.request(uri, method, body, headers)`, and so do
media downloads, resumable uploads and `new_batch_http_request`. With
google-auth that object is a `google_auth_httplib2.AuthorizedHttp` (it adds the
token, and refreshes it through its inner `httplib2.Http` on its own, to the
configured token endpoint). `GuardedHttp` wraps that object: each request is
checked with the `RequestGuard` whose API the URL is in, recorded in the
current journal, passed to an optional `inspect(target, body)` hook (a check of
the body the URL cannot show), and only then sent.

httplib2 follows redirects inside `Http.request`, where no wrapper sees them;
`GuardedHttp` turns that off on the object it wraps (and on its inner `.http`),
so a 3xx comes back to the SDK as an error instead of being followed unchecked.

Imports nothing heavy itself; the wrapped object is the SDK's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mcp_hub.upstream.guard import Refused, RequestGuard, normalise
from mcp_hub.upstream.journal import current_journal
from mcp_hub.upstream.scope import Target

#: `(target, body)` -> None, or raises `PolicyDenied` (nothing is sent).
Inspect = Callable[[Target, Any], None]


class GuardedHttp:
    """An httplib2-style `request()` that sends nothing the guards refuse; other attributes pass through."""

    def __init__(self, http: Any, guards: Sequence[RequestGuard], *, inspect: Inspect | None = None) -> None:
        if not guards:
            raise ValueError("GuardedHttp needs at least one guard")
        self.http = http
        self.guards = tuple(guards)
        self.inspect = inspect
        for holder in (http, getattr(http, "http", None)):
            if holder is not None and hasattr(holder, "follow_redirects"):
                holder.follow_redirects = False
                if hasattr(holder, "follow_all_redirects"):
                    holder.follow_all_redirects = False

    def guard_for(self, uri: str) -> RequestGuard:
        """The guard whose API `uri` is in (longest base first), else the first (it refuses the URL)."""
        try:
            found = normalise(uri)
        except Refused:  # the first guard's check refuses it, with the reason
            return self.guards[0]
        best: RequestGuard | None = None
        for guard in self.guards:
            inside = guard.origin == found.origin and found.segments[: len(guard.base_segments)] == guard.base_segments
            if inside and (best is None or len(guard.base_segments) > len(best.base_segments)):
                best = guard
        return best or self.guards[0]

    def check(self, uri: str, method: str = "GET", body: Any = None) -> Target:
        """The `Target` of a request that may be sent (recorded in the current journal); else `PolicyDenied`."""
        target = self.guard_for(uri).check(method, uri)
        if self.inspect is not None:
            self.inspect(target, body)
        journal = current_journal()
        if journal is not None:
            journal.record(target)
        return target

    def request(
        self, uri: str, method: str = "GET", body: Any = None, headers: Any = None, **kwargs: Any
    ) -> tuple[Any, bytes]:
        self.check(uri, method, body)
        return self.http.request(uri, method=method, body=body, headers=headers, **kwargs)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        # `credentials`, `timeout`, `close`, ... of the wrapped object (googleapiclient reads some of them)
        return getattr(self.http, name)
