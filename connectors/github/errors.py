"""GitHub responses and PyGithub/requests exceptions -> the hub's error tree.

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

SECONDARY_DEFAULT_WAIT = 60.0


def rate_limit_wait(headers: Mapping[str, Any], now: float | None = None) -> float | None:
    """Seconds until the primary limit resets when it is used up, else None."""
    if str(headers.get("x-ratelimit-remaining", "")).strip() != "0":
        return None
    try:
        reset = float(headers["x-ratelimit-reset"])
    except (KeyError, TypeError, ValueError):
        return SECONDARY_DEFAULT_WAIT
    return max(0.0, reset - (time.time() if now is None else now)) + 1.0


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
    """The error for a failed response to a request about `what` (e.g. "repository o/r")."""
    message = _message(body)
    lower = message.lower()
    if status in (403, 429):
        wait = rate_limit_wait(headers)
        if wait is not None:
            return primary_limit_error(wait)
        retry_after = headers.get("retry-after")
        if retry_after is not None or "rate limit" in lower:
            try:
                seconds = float(retry_after) if retry_after is not None else SECONDARY_DEFAULT_WAIT
            except ValueError:
                seconds = SECONDARY_DEFAULT_WAIT
            return RateLimited(
                "GitHub's secondary rate limit was hit (too many requests at once).", retry_after=seconds
            )
    if status == 401:
        return AuthError(
            "GitHub rejected the credentials (401): the token is wrong, expired or revoked. "
            "Ask the hub's operator to renew it."
        )
    if status == 403:
        return AuthError(
            f"GitHub refused access to {what} (403{': ' + message if message else ''}). The account lacks a "
            "permission or scope for this; try a read, or ask for access."
        )
    if status == 404:
        return NotFound(
            f"{what} was not found on GitHub, or this account cannot see it. Check owner/repo, numbers, paths and refs."
        )
    if status == 409:
        return InvalidInput(f"GitHub reports a conflict for {what} (409: {message or 'conflict'}). Refresh and retry.")
    if status == 422:
        details = _validation_details(body)
        return InvalidInput(
            f"GitHub rejected the request about {what} (422: {message or 'validation failed'}"
            f"{'; ' + details if details else ''}). Fix the arguments."
        )
    if status == 405:
        return InvalidInput(
            f"GitHub refused {what} in its current state (405: {message or 'not allowed'}). Read its state first "
            "(e.g. get_pull_request: merged, mergeable, mergeable_state) and fix that before retrying."
        )
    if status in (400, 410, 413, 415):
        return InvalidInput(f"GitHub rejected the request about {what} ({status}: {message or 'bad request'}).")
    if status >= 500:
        return UpstreamUnavailable(f"GitHub failed with {status}; try again shortly.")
    return ConnectorError(f"GitHub answered {status} for {what}{': ' + message if message else ''}.")


def from_exception(exc: BaseException, what: str) -> HubError:
    """The error for an exception raised while talking to GitHub (network, PyGithub, App token exchange)."""
    import requests
    from github import GithubException

    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, GithubException):
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        return from_response(exc.status, headers, exc.data, what)
    if isinstance(exc, requests.Timeout):
        return UpstreamTimeout(f"GitHub did not answer in time about {what}; try again, or narrow the request.")
    if isinstance(exc, requests.RequestException):
        return UpstreamUnavailable("GitHub is unreachable (connection failed or was reset); try again shortly.")
    if isinstance(exc, ValueError) and "Could not deserialize key" in str(exc):
        return AuthError("the GitHub App private key is not a valid PEM key; ask the hub's operator to fix it.")
    return ConnectorError(f"unexpected {type(exc).__name__} while talking to GitHub about {what}.")
