"""slack-sdk and aiohttp exceptions -> the hub's error tree, at the connector boundary.

Messages are built from Slack's error code (checked to be a plain code) and its `needed` scope, never from
`str(exc)`: the SDK's message includes the request URL and its response body. slack-sdk and aiohttp are
imported inside `translate`, so importing this module stays free.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
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

_CODE = re.compile(r"^[a-z0-9_.]{1,60}$")
_TOKEN_CODES = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "no_permission"}
)
_NOT_FOUND = {
    "channel_not_found": "channel not found, or not visible to this token; check the id with "
    "slack_list_conversations (private channels need the app invited).",
    "user_not_found": "user not found; look the person up with slack_lookup.",
    "users_not_found": "user not found; look the person up with slack_lookup.",
    "user_not_visible": "that user is not visible to this token.",
    "thread_not_found": "thread not found: pass the ts of the thread's parent message.",
    "message_not_found": "message not found: pass the ts of a message in that channel.",
}
_INPUT = {
    "invalid_ts_latest": "latest is not a valid time: pass a Slack ts (1714557720.000100) or an ISO date.",
    "invalid_ts_oldest": "oldest is not a valid time: pass a Slack ts (1714557720.000100) or an ISO date.",
    "invalid_cursor": "invalid cursor: pass back next_cursor of the previous page unchanged.",
    "bad_timestamp": "bad ts: pass the ts of a message (like 1714557720.000100).",
    "invalid_name": "unknown emoji name: use a standard or workspace emoji name without colons.",
    "msg_too_long": "the message is too long for Slack; shorten it.",
    "no_text": "the message is empty.",
    "is_archived": "the channel is archived; it cannot be posted to.",
    "too_many_reactions": "the message has too many reactions already.",
}


def translate(exc: BaseException, method: str, token: str) -> HubError:
    """The `HubError` to raise for `exc` from `method` called with the `token` setting (e.g. SLACK_BOT_TOKEN)."""
    import aiohttp
    from slack_sdk.errors import SlackApiError, SlackClientError

    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, SlackApiError):
        response = exc.response
        data = response.data if isinstance(response.data, dict) else {}
        return from_response(method, token, int(response.status_code), response.headers, data)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return UpstreamTimeout(f"Slack did not answer {method} in time; try again.")
    if isinstance(exc, aiohttp.ClientError):
        return UpstreamUnavailable(f"Slack is unreachable ({type(exc).__name__}) calling {method}; try again later.")
    if isinstance(exc, SlackClientError):
        return ConnectorError(f"slack-sdk refused the {method} request ({type(exc).__name__}).")
    return ConnectorError(f"unexpected {type(exc).__name__} calling Slack {method}.")


def from_response(
    method: str, token: str, status: int, headers: Mapping[str, Any], data: Mapping[str, Any]
) -> HubError:
    """The error for one failed Slack response (HTTP status, headers, parsed body)."""
    raw = data.get("error")
    code = raw if isinstance(raw, str) and _CODE.match(raw) else ""
    if status == 429 or code == "ratelimited":
        return RateLimited(f"Slack is rate-limiting {method}.", retry_after=_retry_after(headers))
    if status >= 500 or (not code and status != 200):
        return UpstreamUnavailable(f"Slack failed on {method} (HTTP {status}); try again later.")
    if not code:
        return UpstreamUnavailable(f"Slack answered {method} without a usable body; try again.")
    if code == "missing_scope":
        needed = data.get("needed")
        scope = needed if isinstance(needed, str) and _CODE.match(needed.replace(",", "_").replace(":", "_")) else "?"
        return AuthError(
            f"{token} lacks the Slack scope {scope} that {method} needs: add it in the Slack app's "
            "OAuth settings and reinstall the app."
        )
    if code in _TOKEN_CODES:
        return AuthError(f"Slack rejected {token} ({code}) on {method}: check or rotate the token.")
    if code == "not_in_channel":
        return AuthError(
            f"the app is not a member of that channel ({method}): invite it (/invite @app) or use another channel."
        )
    if code in _NOT_FOUND:
        return NotFound(_NOT_FOUND[code])
    if code in _INPUT:
        return InvalidInput(_INPUT[code])
    if code in ("invalid_arguments", "invalid_arg_name"):
        return InvalidInput(f"Slack rejected the arguments of {method} ({code}).")
    if code in ("request_timeout", "fatal_error", "internal_error", "service_unavailable"):
        return UpstreamUnavailable(f"Slack failed on {method} ({code}); try again later.")
    return ConnectorError(f"Slack refused {method}: {code}.")


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    for key, value in headers.items():
        if str(key).lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None
