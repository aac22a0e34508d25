"""python-gitlab / requests exceptions -> the hub's error tree, at the connector boundary.

Messages quote GitLab's own `message`/`error` field (short, never a URL with
credentials) and say what to do next; the token never appears because it is
never part of what we format (and the hub's redactor would mask it anyway).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mcp_hub.errors import (
    AuthError,
    ConnectorError,
    HubError,
    InvalidInput,
    NotFound,
    RateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)

_MAX_MESSAGE = 300


def upstream_errors() -> tuple[type[BaseException], ...]:
    """The exception types `translate` understands (imports the SDK: call inside tools only)."""
    import gitlab
    import requests

    from connectors.gitlab.client import Throttled

    return (gitlab.exceptions.GitlabError, requests.RequestException, Throttled)


def window_used_up(until: float) -> str:
    """The reason given while GitLab's window is used up (`RateLimit-Remaining: 0`) until `until`."""
    at = datetime.fromtimestamp(until, UTC).strftime("%H:%M:%S UTC")
    return f"GitLab's rate limit for this token is used up; it resets at {at}."


def gitlab_message(raw: Any) -> str:
    """GitLab's error body field as one short line (it may be a string, a list or a dict of lists)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, dict):
        text = "; ".join(f"{key} {gitlab_message(value)}" for key, value in raw.items())
    elif isinstance(raw, list):
        text = ", ".join(gitlab_message(item) for item in raw)
    else:
        text = str(raw or "").strip()
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "…"


def translate(exc: BaseException, what: str = "the resource") -> HubError:
    """The `HubError` to raise for `exc`; `what` names the object asked for (e.g. "merge request !3")."""
    import gitlab
    import requests

    from connectors.gitlab.client import Throttled

    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, Throttled):
        reason = exc.reason or "GitLab is rate limiting this token; wait before calling again."
        return RateLimited(reason, exc.retry_after)
    if isinstance(exc, requests.exceptions.SSLError):
        return UpstreamUnavailable(
            "TLS verification of the GitLab instance failed: set the instance's ca_bundle "
            "(or SSL_CERT_FILE) to the PEM file of its certificate authority."
        )
    if isinstance(exc, requests.Timeout):
        return UpstreamTimeout("GitLab did not answer in time (timeout_s); try again or narrow the request.")
    if isinstance(exc, requests.RequestException):
        return UpstreamUnavailable("GitLab is unreachable (connection failed); try again later. Check base_url.")
    if isinstance(exc, gitlab.exceptions.GitlabParsingError):
        return ConnectorError("GitLab sent a response that is not the expected JSON; try again later.")
    if not isinstance(exc, gitlab.exceptions.GitlabError):
        return ConnectorError(f"unexpected {type(exc).__name__} while talking to GitLab")
    code = exc.response_code or 0
    text = gitlab_message(exc.error_message)
    if code == 401 or isinstance(exc, gitlab.exceptions.GitlabAuthenticationError):
        return AuthError("GitLab rejected the token (401): check that GITLAB_TOKEN is valid and not expired.")
    if code == 403:
        return AuthError(
            f"GitLab refused this (403: {text}): the token lacks a scope (read_api for reads, api for writes) "
            "or the role needed; use something it can access or ask for more access."
        )
    if code == 404:
        return NotFound(f"{what} was not found (404), or this token cannot see it; check the name, id or ref.")
    if code in (405, 406):
        return ConnectorError(f"GitLab cannot do this in the current state ({code}: {text}).")
    if code == 409:
        return ConnectorError(f"conflict (409: {text}); re-read the current state and retry with fresh values.")
    if code in (400, 422):
        return InvalidInput(f"GitLab rejected the request ({code}: {text}); fix the arguments.")
    if code >= 500:
        return UpstreamUnavailable(f"GitLab failed ({code}); try again later.")
    return ConnectorError(f"GitLab answered {code}: {text}")
