"""GitHub responses and PyGithub/requests exceptions -> the hub's error tree (the kit's status table).

Messages are built from the status, GitHub's own `message` field (a short
fixed phrase such as "Not Found" or "Validation Failed") and the error codes of
422 bodies, never from request URLs, headers or tokens. Rate limits read
`x-ratelimit-remaining`/`x-ratelimit-reset` and `retry-after` the way GitHub's
docs describe: a primary limit waits until the reset, a secondary limit for
`retry-after` seconds, or a minute when GitHub does not say.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mcp_hub.errors import AuthError, HubError, RateLimited, UpstreamTimeout, UpstreamUnavailable
from mcp_hub.upstream.statuses import error_for_status, parse_retry_after, reset_wait

SECONDARY_DEFAULT_WAIT = 60.0


def rate_limit_wait(headers: Mapping[str, Any], now: float | None = None) -> float | None:
    """Seconds until the primary limit resets when it is used up, else None."""
    if str(headers.get("x-ratelimit-remaining", "")).strip() != "0":
        return None
    wait = reset_wait(headers.get("x-ratelimit-reset"), now)
    return SECONDARY_DEFAULT_WAIT if wait is None else wait + 1.0


def primary_limit_error(wait: float) -> RateLimited:
    at = datetime.fromtimestamp(time.time() + wait, UTC).strftime("%H:%M:%S UTC")
    return RateLimited(f"GitHub's API rate limit for this account is used up; it resets at {at}.", retry_after=wait)


def _message(body: Any) -> str:
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str):
            return message.strip()[:200]
    return ""


def _validation_details(body: Any) -> str:
    if not isinstance(body, Mapping) or not isinstance(body.get("errors"), list):
        return ""
    parts = []
    for err in body["errors"][:5]:
        if isinstance(err, Mapping):
            field = err.get("field") or ""
            code = err.get("code") or ""
            text = err.get("message") or ""
            parts.append(" ".join(str(p) for p in (err.get("resource") or "", field, code, text) if p))
        elif isinstance(err, str):
            parts.append(err)
    return "; ".join(p[:200] for p in parts if p)


def from_response(status: int, headers: Mapping[str, Any], body: Any, what: str) -> HubError:
    """The error for a failed response to a request about `what` (e.g. "repository o/r").

    GitHub's rate-limit signals come first (a 403 or 429 with its headers); otherwise the error kind is
    the kit's one status table (`mcp_hub.upstream.statuses`), in GitHub's words where they help.
    """
    message = _message(body)
    if status in (403, 429):
        wait = rate_limit_wait(headers)
        if wait is not None:
            return primary_limit_error(wait)
        retry_after = headers.get("retry-after")
        if retry_after is not None or "rate limit" in message.lower() or status == 429:
            seconds = parse_retry_after(retry_after)
            return RateLimited(
                "GitHub's secondary rate limit was hit (too many requests at once).",
                retry_after=SECONDARY_DEFAULT_WAIT if seconds is None else seconds,
            )
    advice = _ADVICE.get(status)
    if status == 422:
        details = _validation_details(body)
        message = f"{message or 'validation failed'}{'; ' + details if details else ''}"
    return error_for_status(status, service="GitHub", what=what, detail=message, advice=advice)


_ADVICE: dict[int, str] = {
    401: "Ask the hub's operator to renew the token.",
    403: "The account lacks a permission or scope for this; try a read, or ask for access.",
    404: "Check owner/repo, numbers, paths and refs.",
    405: (
        "Read its state first (e.g. get_pull_request: merged, mergeable, mergeable_state) and fix that before retrying."
    ),
    409: "Refresh and retry.",
    422: "Fix the arguments.",
}


def translate(exc: BaseException, what: str) -> HubError | None:
    """The error for an exception raised while talking to GitHub (network, PyGithub, App token exchange).

    None for anything else: the kit's call path reports that as the hub's own bug, with a traceback.
    """
    import requests
    from github import GithubException

    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, GithubException):
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        return from_response(exc.status, headers, exc.data, what)
    if isinstance(exc, requests.exceptions.SSLError):
        return UpstreamUnavailable(
            "TLS verification of GitHub failed: set the instance's ca_bundle (or SSL_CERT_FILE) to the PEM file "
            "of its certificate authority."
        )
    if isinstance(exc, requests.Timeout):
        return UpstreamTimeout(f"GitHub did not answer in time about {what}; try again, or narrow the request.")
    if isinstance(exc, requests.RequestException):
        return UpstreamUnavailable("GitHub is unreachable (connection failed or was reset); try again shortly.")
    if isinstance(exc, ValueError) and "Could not deserialize key" in str(exc):
        return AuthError("the GitHub App private key is not a valid PEM key; ask the hub's operator to fix it.")
    return None
