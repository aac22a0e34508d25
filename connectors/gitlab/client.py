"""The python-gitlab client of one instance: retries off, the request guard on its `requests` session.

Imported only when a tool first runs (python-gitlab and requests are loaded
here). The hub owns retries: every request goes out with `obey_rate_limit=False`,
`max_retries=0` and `retry_transient_errors=False`, and a 429 is turned into
`Throttled` (carrying `Retry-After` / `RateLimit-Reset`, read with the kit's
parsers) by a response hook, because python-gitlab's own exceptions drop the
response headers.

The session python-gitlab sends everything through (`session=`) carries the
kit's `GuardedAdapter`: every request, pagination and redirects included, is
checked against the instance's scope after `requests` prepared the URL, and
recorded in the current journal; nothing outside the scope is sent.

The same hook reads `RateLimit-Remaining` (GitLab sends it where rate limits are
on): the hub's gauge follows it, and at 0 nothing more is sent until
`RateLimit-Reset`, in this process (`LimitWatch`) or, through the connector's
shared budget, in any replica.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import gitlab
import requests

from connectors.gitlab.base import CURSOR_KEYS
from connectors.gitlab.errors import window_used_up
from connectors.gitlab.settings import GitlabSettings
from mcp_hub import metrics
from mcp_hub.upstream import RequestGuard
from mcp_hub.upstream.statuses import header, parse_retry_after, reset_wait
from mcp_hub.upstream.transport_requests import guard_session

#: Wait assumed when GitLab says `RateLimit-Remaining: 0` without a usable `RateLimit-Reset`.
DEFAULT_RESET_WAIT = 60.0


class Throttled(Exception):
    """GitLab answered 429 (or said the window is used up); `retry_after` in seconds when it said."""

    def __init__(self, retry_after: float | None, reason: str | None = None) -> None:
        super().__init__("429 Too Many Requests")
        self.retry_after = retry_after
        #: What the caller is told, when more precise than "rate limiting this token".
        self.reason = reason


def retry_after(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait: `Retry-After` (seconds or HTTP-date), else `RateLimit-Reset` (epoch seconds)."""
    wait = parse_retry_after(header(headers, "Retry-After"), now)
    return wait if wait is not None else reset_wait(header(headers, "RateLimit-Reset"), now)


class LimitWatch:
    """What GitLab's `RateLimit-*` headers said last, for one instance's token.

    Fed by the session's response hook (in worker threads: plain assignments only).
    """

    def __init__(self, instance: str = "default") -> None:
        self.instance = instance
        #: Epoch seconds until which the window is used up (0: not used up, as far as we know).
        self.blocked_until = 0.0

    def observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """The response hook: note the remaining count, then turn a 429 into `Throttled`."""
        headers = response.headers
        remaining = str(headers.get("RateLimit-Remaining", "")).strip()
        if remaining.isdigit():
            metrics.record_rate_limit("gitlab", self.instance, int(remaining))
        if remaining == "0":  # this answer used the window's last request
            wait = reset_wait(headers.get("RateLimit-Reset"))
            self.blocked_until = time.time() + (DEFAULT_RESET_WAIT if wait is None else wait)
        elif response.status_code < 400:
            self.blocked_until = 0.0
        if response.status_code == 429:
            _ = response.content  # read the body so the connection goes back to the pool
            raise Throttled(retry_after(headers))

    def wait(self) -> float:
        """Seconds until the used-up window resets; 0 when requests may be sent."""
        return max(0.0, self.blocked_until - time.time())


class HubGitlab(gitlab.Gitlab):
    """python-gitlab with its retry loop disabled on every request, and nothing sent into a used-up window."""

    watch: LimitWatch

    def http_request(self, verb: str, path: str, *args: Any, **kwargs: Any) -> requests.Response:
        wait = self.watch.wait()
        if wait > 0:
            raise Throttled(wait, window_used_up(self.watch.blocked_until))
        kwargs["obey_rate_limit"] = False
        kwargs["max_retries"] = 0
        kwargs["retry_transient_errors"] = False
        return super().http_request(verb, path, *args, **kwargs)


def make_client(settings: GitlabSettings, guard: RequestGuard, watch: LimitWatch | None = None) -> HubGitlab:
    """A client for `settings` whose session sends only what `guard` allows.

    Proxies: the instance's `proxy`, else HTTPS_PROXY/NO_PROXY (requests' trust_env).
    """
    assert settings.token is not None
    watch = watch or LimitWatch()
    session = requests.Session()
    guard_session(session, guard)
    proxies = settings.proxies()
    if proxies:
        session.proxies.update(proxies)
    session.hooks["response"].append(watch.observe)
    client = HubGitlab(
        url=settings.url,
        private_token=settings.token.get_secret_value(),
        ssl_verify=settings.verify(),
        timeout=settings.timeout_s,
        session=session,
        retry_transient_errors=False,
        user_agent="mcp-hub",
    )
    client.watch = watch
    return client


def get_json(gl: gitlab.Gitlab, path: str, params: dict[str, Any] | None = None) -> Any:
    return gl.http_request("get", path, query_data=params or {}).json()


def get_page(
    gl: gitlab.Gitlab, path: str, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """One page of a listing (one request) and the query that fetches the next one, None at the end.

    The next query comes from the `Link: rel="next"` header, which GitLab sends for offset and keyset
    pagination alike; `X-Next-Page` is the fallback for offset pagination. The next query keeps this
    page's `per_page`: an offset page is the next one only at the same size, whatever `limit` says then.
    """
    response = gl.http_request("get", path, query_data=params)
    items = response.json()
    if not isinstance(items, list):
        raise gitlab.exceptions.GitlabParsingError(error_message="expected a JSON array")
    link = response.links.get("next", {}).get("url")
    size = {"per_page": str(params["per_page"])} if "per_page" in params else {}
    if link:
        query = {k: v for k, v in parse_qsl(urlsplit(link).query) if k in CURSOR_KEYS}
        return items, (size | query) if query else None
    next_page = response.headers.get("X-Next-Page")
    return items, (size | {"page": next_page} if next_page else None)


def get_text(gl: gitlab.Gitlab, path: str, params: dict[str, Any] | None = None) -> tuple[bytes, Any]:
    response = gl.http_request("get", path, query_data=params or {})
    return response.content, response.headers
