"""The upstream kit: what every connector uses between its tools and its SDK's transport.

- `call.Upstream`: the one call path (rate budget, worker thread, retries, error translation;
  an exception nobody recognises is the hub's bug: `InternalError` with an incident id).
- `statuses`: one HTTP status -> error kind table, one `Retry-After` parser.
- `settings.UpstreamSettings`: timeout, retries, CA bundle, proxy; mixed into each connector's settings.
- `page.Page`: `next_cursor` + `truncated` for every listing.
- `outsider.OutsiderGate`: clean or withhold outsiders' text, one way.
- `scope.Scope` / `guard.RequestGuard`: the request guard, checking every request actually sent,
  after normalisation, against the instance's allow-list; its `Target` is what provenance is built from.
- `journal`: where the guard records what it let through (per tool call, per upstream call).
- `segments`: arguments that become URL path parts, checked and percent-encoded per segment.
- `transport_requests`: the guard's hook for `requests`-based SDKs (imports `requests`; import it lazily).
- `transport_aiohttp`: the guard's hook for aiohttp-based SDKs (imports `aiohttp`; import it lazily).

See README.md in this package for how a connector migrates. Importing this package is cheap (no SDK).
"""

from mcp_hub.upstream.call import Translate, Upstream, internal_error
from mcp_hub.upstream.guard import RequestGuard, normalise
from mcp_hub.upstream.journal import Journal, current_journal, journal
from mcp_hub.upstream.outsider import OutsiderGate
from mcp_hub.upstream.page import Page
from mcp_hub.upstream.scope import Route, Scope, Target
from mcp_hub.upstream.settings import DEFAULT_TIMEOUT_S, UpstreamSettings
from mcp_hub.upstream.statuses import error_for_status, kind_for_status, parse_retry_after, reset_wait

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "Journal",
    "OutsiderGate",
    "Page",
    "RequestGuard",
    "Route",
    "Scope",
    "Target",
    "Translate",
    "Upstream",
    "UpstreamSettings",
    "current_journal",
    "error_for_status",
    "internal_error",
    "journal",
    "kind_for_status",
    "normalise",
    "parse_retry_after",
    "reset_wait",
]
