"""The python-gitlab client of one instance, with the SDK's retries off.

Imported only when a tool first runs (python-gitlab and requests are loaded
here). The hub owns retries: every request goes out with `obey_rate_limit=False`,
`max_retries=0` and `retry_transient_errors=False`, and a 429 is turned into
`Throttled` (carrying `Retry-After` / `RateLimit-Reset`) by a response hook,
because python-gitlab's own exceptions drop the response headers.

The same hook reads `RateLimit-Remaining` (GitLab sends it where rate limits are
on): the hub's gauge follows it, and at 0 nothing more is sent until
`RateLimit-Reset`, in this process (`LimitWatch`) or, through the connector's
shared budget, in any replica.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import gitlab
import requests

from connectors.gitlab.errors import window_used_up
from connectors.gitlab.settings import GitlabSettings
from mcp_hub import metrics

#: Wait assumed when GitLab says `RateLimit-Remaining: 0` without a usable `RateLimit-Reset`.
DEFAULT_RESET_WAIT = 60.0

#: Query keys of a `Link: rel=next` URL that resume a listing (offset and keyset pagination).
_CURSOR_KEYS = frozenset({"page", "page_token", "id_after", "id_before", "cursor", "pagination"})


class Throttled(Exception):
    """GitLab answered 429 (or said the window is used up); `retry_after` in seconds when it said."""

    def __init__(self, retry_after: float | None, reason: str | None = None) -> None:
        super().__init__("429 Too Many Requests")
        self.retry_after = retry_after
        #: What the caller is told, when more precise than "rate limiting this token".
        self.reason = reason


def retry_after(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait from `Retry-After` (seconds) or `RateLimit-Reset` (epoch seconds)."""
    value = headers.get("Retry-After")
    if value is not None and str(value).strip().isdigit():
        return float(value)
    reset = headers.get("RateLimit-Reset")
    if reset is not None and str(reset).strip().isdigit():
        return max(0.0, float(reset) - (time.time() if now is None else now))
    return None


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
            wait = retry_after({"RateLimit-Reset": headers.get("RateLimit-Reset")})
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


def make_client(settings: GitlabSettings, watch: LimitWatch | None = None) -> HubGitlab:
    """A client for `settings`; proxies come from HTTPS_PROXY/NO_PROXY (requests' trust_env)."""
    assert settings.token is not None
    watch = watch or LimitWatch()
    session = requests.Session()
    session.hooks["response"].append(watch.observe)
    verify: bool | str = settings.ca_bundle or os.environ.get("SSL_CERT_FILE") or True
    client = HubGitlab(
        url=settings.url,
        private_token=settings.token.get_secret_value(),
        ssl_verify=verify,
        timeout=settings.timeout_s,
        session=session,
        retry_transient_errors=False,
        user_agent="mcp-hub",
    )
    client.watch = watch
    return client


def pid(project: str | int) -> str:
    """A project id or path as one URL path segment (`group%2Fname`)."""
    return quote(str(project), safe="")


def get_json(gl: gitlab.Gitlab, path: str, params: dict[str, Any] | None = None) -> Any:
    return gl.http_request("get", path, query_data=params or {}).json()


def get_page(
    gl: gitlab.Gitlab, path: str, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """One page of a listing (one request) and the query that fetches the next one, None at the end.

    The next query comes from the `Link: rel="next"` header, which GitLab sends for offset and keyset
    pagination alike; `X-Next-Page` is the fallback for offset pagination.
    """
    response = gl.http_request("get", path, query_data=params)
    items = response.json()
    if not isinstance(items, list):
        raise gitlab.exceptions.GitlabParsingError(error_message="expected a JSON array")
    link = response.links.get("next", {}).get("url")
    if link:
        query = {k: v for k, v in parse_qsl(urlsplit(link).query) if k in _CURSOR_KEYS}
        return items, query or None
    next_page = response.headers.get("X-Next-Page")
    return items, ({"page": next_page} if next_page else None)


def get_text(gl: gitlab.Gitlab, path: str, params: dict[str, Any] | None = None) -> tuple[bytes, Any]:
    response = gl.http_request("get", path, query_data=params or {})
    return response.content, response.headers
