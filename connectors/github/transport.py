"""The request guard at the transport PyGithub really uses.

PyGithub sends every request through a connection object of its `Requester`
(`HTTPSRequestsConnectionClass` / `HTTPRequestsConnectionClass`), each holding
its own `requests.Session` with an `HTTPAdapter`. The requester builds them
itself, from two class attributes: for API calls (`__createConnection`) and for
the 302 redirects it follows to other hosts (`__customConnection`). `guard`
gives one requester instance its own subclasses of both, whose sessions carry
a `GuardedAdapter` (and this instance's proxy), so every request it sends
(pagination links and redirects included) is checked after `requests` has
normalised the URL, and nothing else is touched: other instances keep their
own scope.

The attributes are PyGithub's private ones: if a PyGithub upgrade renames
them, `guard` raises instead of leaving the requester unguarded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_hub.errors import ConfigError
from mcp_hub.upstream import RequestGuard
from mcp_hub.upstream.transport_requests import guard_session

if TYPE_CHECKING:
    from github.Requester import Requester

_ATTRIBUTES = (
    "_Requester__httpConnectionClass",
    "_Requester__httpsConnectionClass",
    "_Requester__connectionClass",
    "_Requester__scheme",
)


def guard(requester: Requester, request_guard: RequestGuard, proxies: dict[str, str] | None = None) -> None:
    """Make `requester` send only what `request_guard` allows."""
    from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass

    missing = [name for name in _ATTRIBUTES if not hasattr(requester, name)]
    if missing:
        raise ConfigError(
            f"this PyGithub version has no {', '.join(missing)}: the request guard cannot be installed, "
            "so the GitHub connector refuses to run; use the PyGithub version pinned by mcp-hub"
        )

    def guarded(connection: Any) -> None:
        guard_session(
            connection.session, request_guard, pool_connections=connection.pool_size, pool_maxsize=connection.pool_size
        )
        if proxies:
            connection.session.proxies.update(proxies)

    class GuardedHTTPS(HTTPSRequestsConnectionClass):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            guarded(self)

    class GuardedHTTP(HTTPRequestsConnectionClass):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            guarded(self)

    own = vars(requester)  # instance attributes shadow the class's: other requesters are untouched
    https = own["_Requester__scheme"] == "https"
    own["_Requester__httpsConnectionClass"] = GuardedHTTPS
    own["_Requester__httpConnectionClass"] = GuardedHTTP
    own["_Requester__connectionClass"] = GuardedHTTPS if https else GuardedHTTP
