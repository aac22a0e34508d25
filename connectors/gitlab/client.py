"""The python-gitlab client of one instance, with the SDK's retries off.

Imported only when a tool first runs (python-gitlab and requests are loaded
here). The hub owns retries: every request goes out with `obey_rate_limit=False`,
`max_retries=0` and `retry_transient_errors=False`, and a 429 is turned into
`Throttled` (carrying `Retry-After` / `RateLimit-Reset`) by a response hook,
because python-gitlab's own exceptions drop the response headers.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import gitlab
import requests

from connectors.gitlab.settings import GitlabSettings

#: Query keys of a `Link: rel=next` URL that resume a listing (offset and keyset pagination).
_CURSOR_KEYS = frozenset({"page", "page_token", "id_after", "id_before", "cursor", "pagination"})


class Throttled(Exception):
    """GitLab answered 429; `retry_after` in seconds when it said."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__("429 Too Many Requests")
        self.retry_after = retry_after


def retry_after(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait from `Retry-After` (seconds) or `RateLimit-Reset` (epoch seconds)."""
    value = headers.get("Retry-After")
    if value is not None and str(value).strip().isdigit():
        return float(value)
    reset = headers.get("RateLimit-Reset")
    if reset is not None and str(reset).strip().isdigit():
        return max(0.0, float(reset) - (time.time() if now is None else now))
    return None


def _raise_on_429(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    if response.status_code == 429:
        _ = response.content  # read the body so the connection goes back to the pool
        raise Throttled(retry_after(response.headers))


class HubGitlab(gitlab.Gitlab):
    """python-gitlab with its retry loop disabled on every request."""

    def http_request(self, verb: str, path: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["obey_rate_limit"] = False
        kwargs["max_retries"] = 0
        kwargs["retry_transient_errors"] = False
        return super().http_request(verb, path, *args, **kwargs)


def make_client(settings: GitlabSettings) -> HubGitlab:
    """A client for `settings`; proxies come from HTTPS_PROXY/NO_PROXY (requests' trust_env)."""
    assert settings.token is not None
    session = requests.Session()
    session.hooks["response"].append(_raise_on_429)
    verify: bool | str = settings.ca_bundle or os.environ.get("SSL_CERT_FILE") or True
    return HubGitlab(
        url=settings.url,
        private_token=settings.token.get_secret_value(),
        ssl_verify=verify,
        timeout=settings.timeout_s,
        session=session,
        retry_transient_errors=False,
        user_agent="mcp-hub",
    )


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
