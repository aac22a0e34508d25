"""slack-sdk and aiohttp exceptions -> the hub's error tree, at the connector boundary.

HTTP statuses go through the kit's one table (`mcp_hub.upstream.statuses`): a 429 is `rate_limited` with
its `Retry-After` (else the method tier's interval), a 5xx `unavailable`. Slack also answers HTTP 200 with
`{"ok": false, "error": <code>}`: those codes are Slack's own and are worded here. Messages are built from
Slack's error code (checked to be a plain code) and its `needed` scope, never from `str(exc)`: the SDK's
message includes the request URL and its response body. An exception that is neither Slack's, aiohttp's
nor a time-out is the hub's own bug (`translate` returns None; the kit logs it with an incident id).
slack-sdk and aiohttp are imported inside `translate`, so importing this module stays free.
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
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mcp_hub.upstream import Translate
from mcp_hub.upstream.statuses import error_for_status, header, parse_retry_after

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


def translator(token: str) -> Translate:
    """The kit's `translate(exc, what)` for calls made with the `token` setting (e.g. SLACK_BOT_TOKEN)."""
    return lambda exc, what: translate(exc, what, token)


def translate(exc: BaseException, method: str, token: str) -> HubError | None:
    """The `HubError` for `exc` from `method` called with `token`; None when it is not Slack's or the network's."""
    import aiohttp
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, SlackApiError):
        response = exc.response
        data = response.data if isinstance(response.data, dict) else {}
        return from_response(method, token, int(response.status_code), response.headers, data)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return UpstreamTimeout(f"Slack did not answer {method} in time; try again.")
    if isinstance(exc, aiohttp.ClientSSLError):
        return UpstreamUnavailable(
            "TLS verification of Slack failed: set the instance's ca_bundle (or SSL_CERT_FILE) to the PEM file "
            "of its certificate authority."
        )
    if isinstance(exc, aiohttp.ClientError):
        return UpstreamUnavailable(f"Slack is unreachable ({type(exc).__name__}) calling {method}; try again later.")
    return None


def from_response(
    method: str, token: str, status: int, headers: Mapping[str, Any], data: Mapping[str, Any]
) -> HubError:
    """The error for one failed Slack response (HTTP status, headers, parsed body)."""
    from connectors.slack.scope import tier_wait

    raw = data.get("error")
    code = raw if isinstance(raw, str) and _CODE.match(raw) else ""
    if status == 429 or code == "ratelimited":
        wait = parse_retry_after(header(headers, "Retry-After"))
        retry_after = tier_wait(method) if wait is None else wait
        return error_for_status(429, service="Slack", what=method, detail=method, retry_after=retry_after)
    if status >= 500 or not code:  # a gateway's page or a body without Slack's error code
        detail = "" if status >= 400 else "no usable body"
        return error_for_status(status if status >= 400 else 502, service="Slack", what=method, detail=detail)
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
