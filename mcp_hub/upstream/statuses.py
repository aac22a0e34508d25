"""One HTTP status -> error kind table, and one `Retry-After` parser, for every connector.

A connector may word its messages (GitHub's own `message`, Slack's error code),
but the *kind* of error a status becomes is decided here, so a 409 is the same
`invalid_input` on GitHub and GitLab and a 410 the same `not_found` everywhere.
Service-specific rate-limit signals that come with a 200 or a 403 (GitHub's
`x-ratelimit-remaining: 0`, Drive's `userRateLimitExceeded`, Slack's
`ratelimited`) are recognised by the connector first, and then built with
`rate_limited(...)`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
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

#: Wait assumed when a service throttles without saying for how long.
DEFAULT_THROTTLE_WAIT_S = 60.0

#: The table. Anything >= 500 not listed is `UpstreamUnavailable`; anything else not listed `ConnectorError`.
STATUS_KINDS: dict[int, type[HubError]] = {
    400: InvalidInput,
    401: AuthError,
    403: AuthError,
    404: NotFound,
    405: InvalidInput,  # not allowed in the resource's current state (a merge with conflicts)
    406: InvalidInput,
    408: UpstreamTimeout,
    409: InvalidInput,  # conflict: re-read, then retry with fresh values
    410: NotFound,  # gone (a disabled feature, a deleted thing)
    412: InvalidInput,
    413: InvalidInput,
    415: InvalidInput,
    422: InvalidInput,
    429: RateLimited,
    504: UpstreamTimeout,
}

#: How each kind says what happened ({service}, {what}, {said}) and what to do next.
_WORDING: dict[type[HubError], tuple[str, str]] = {
    InvalidInput: ("{service} rejected the request about {what} ({said}).", "Fix the arguments and retry."),
    AuthError: (
        "{service} refused access to {what} ({said}).",
        "The hub's credentials lack access to this; use something they can reach, or ask for access.",
    ),
    NotFound: (
        "{what} was not found on {service} ({said}), or these credentials cannot see it.",
        "Check names, ids, paths and refs.",
    ),
    UpstreamTimeout: ("{service} did not answer in time about {what} ({said}).", "Try again, or narrow the request."),
    UpstreamUnavailable: ("{service} failed ({said}) about {what}.", "Try again shortly."),
    ConnectorError: ("{service} answered {said} about {what}.", ""),
}


def kind_for_status(status: int) -> type[HubError]:
    """The error class a failed HTTP status maps to (the same on every connector)."""
    if status in STATUS_KINDS:
        return STATUS_KINDS[status]
    if status >= 500:
        return UpstreamUnavailable
    return ConnectorError


def error_for_status(
    status: int,
    *,
    service: str,
    what: str,
    detail: str = "",
    advice: str | None = None,
    retry_after: float | None = None,
) -> HubError:
    """The error for `status` answered by `service` about `what`.

    `detail` is the service's own short phrase (never a URL, header or body
    dump); `advice` replaces the kind's default next step.
    """
    cls = kind_for_status(status)
    said = f"{status}: {detail}" if detail else str(status)
    if cls is RateLimited:
        return rate_limited(f"{service} is rate limiting these credentials ({said}).", retry_after)
    if status == 401:
        told = f"{service} rejected the credentials (401): wrong, expired or revoked."
        return AuthError(f"{told} {advice or 'Ask the hub operator to renew them.'}")
    text, hint = _WORDING.get(cls, _WORDING[ConnectorError])
    message = text.format(service=service, what=what, said=said)
    hint = hint if advice is None else advice
    return cls(f"{message} {hint}".strip())


def rate_limited(reason: str, retry_after: float | None) -> RateLimited:
    return RateLimited(reason, retry_after=retry_after)


def parse_retry_after(value: Any, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP-date; None when unusable.

    Negative or past values are 0; a number with a fraction is accepted (some services send one).
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN, infinities
        return None
    return max(0.0, seconds)


def reset_wait(epoch: Any, now: float | None = None) -> float | None:
    """Seconds until an epoch-seconds reset time (`x-ratelimit-reset`, `RateLimit-Reset`); None when unusable."""
    try:
        reset = float(str(epoch).strip())
    except (TypeError, ValueError):
        return None
    if reset != reset:
        return None
    return max(0.0, reset - (time.time() if now is None else now))


def header(headers: Mapping[str, Any] | Any, name: str) -> Any:
    """A header's value, whatever the case of the mapping's keys (requests, aiohttp, httplib2, dicts)."""
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(name)
    if value is None:
        value = getter(name.lower())
    if value is None and isinstance(headers, Mapping):
        for key, found in headers.items():
            if str(key).lower() == name.lower():
                return found
    return value
