"""Google client exceptions -> the hub's error tree, at the connector boundary.

Drive's own signals come first (its 403 quota reasons `userRateLimitExceeded` /
`rateLimitExceeded` are rate limits like a 429, with `Retry-After` read by the
kit's parser; daily quotas; missing OAuth scopes; export size), then the kit's
one status table (`mcp_hub.upstream.statuses`) decides the kind.

Messages are built from the status, the error `reason` and Google's short
message, never from `str(exc)` (it holds the request URL) nor from a raw body.
The SDK is imported inside `translate`, so importing this module stays free.
"""

from __future__ import annotations

import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any

from mcp_hub.errors import AuthError, HubError, InvalidInput, NotFound, UpstreamTimeout, UpstreamUnavailable
from mcp_hub.upstream.statuses import error_for_status, header, parse_retry_after, rate_limited

QUOTA_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded", "sharingRateLimitExceeded"})
DAILY_REASONS = frozenset({"dailyLimitExceeded", "quotaExceeded"})
PERMISSION_REASONS = frozenset(
    {"insufficientFilePermissions", "forbidden", "appNotAuthorizedToFile", "domainPolicy", "cannotShareTeamDriveItem"}
)
SCOPE_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "insufficientScopes"})
UNREACHABLE = "Google Drive is unreachable (connection failed); try again. If it persists, check base_url and proxy."


@dataclass(frozen=True, slots=True)
class Subject:
    """What was being done, to say in the message: the file id and who the hub acts as."""

    action: str = "read"
    file_id: str | None = None
    account: str | None = None
    delegated: bool = False


def translate(exc: BaseException, what: str) -> HubError | None:
    """The network's and google-auth's exceptions (the `Upstream` translator); None for anything else.

    Drive's HTTP errors are translated where the request is executed (`from_http_error`), with the
    subject of the call; whatever is left unrecognised here is the hub's own bug.
    """
    from google.auth import exceptions as auth_exceptions
    from googleapiclient.errors import HttpError  # type: ignore[import-untyped]

    if isinstance(exc, HttpError):
        return from_http_error(exc, Subject(file_id=None))
    if isinstance(exc, auth_exceptions.RefreshError):
        return refresh_failed(exc, Subject())
    if isinstance(exc, auth_exceptions.TransportError):
        return UpstreamUnavailable("Google's token endpoint is unreachable; try again later.")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return UpstreamTimeout("Google Drive did not answer in time (timeout_s); try again, or read a smaller range.")
    if isinstance(exc, ssl.SSLError):
        return UpstreamUnavailable(
            "TLS to Google failed (certificate not trusted?): set ca_bundle or SSL_CERT_FILE to your CA bundle."
        )
    if isinstance(exc, (ConnectionError, OSError)) or type(exc).__module__.startswith("httplib2"):
        return UpstreamUnavailable(UNREACHABLE)
    if isinstance(exc, json.JSONDecodeError):
        return UpstreamUnavailable("Google Drive sent a response that could not be read; try again.")
    return None


def from_http_error(exc: Any, subject: Subject) -> HubError:
    """A googleapiclient `HttpError` about `subject`."""
    return from_http(int(exc.resp.status), exc.content, exc.resp, subject)


def from_http(status: int, content: bytes | str | None, headers: Any, subject: Subject) -> HubError:
    return _from_http(status, _details(content), headers, subject)


def _details(content: bytes | str | None) -> tuple[list[str], str]:
    """(reasons, Google's message) from an error body; ([], "") when it is not Google's JSON."""
    try:
        body: Any = json.loads(content or b"")
        error = body["error"]
        reasons = [str(e.get("reason", "")) for e in error.get("errors", []) if isinstance(e, dict)]
        status = error.get("status")
        if isinstance(status, str):
            reasons.append(status)
        for detail in error.get("details", []):
            if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
                reasons.append(detail["reason"])
        return reasons, str(error.get("message", ""))[:300]
    except (ValueError, KeyError, TypeError, AttributeError):
        return [], ""


def _from_http(status: int, details: tuple[list[str], str], headers: Any, subject: Subject) -> HubError:
    reasons, message = details
    found = set(reasons)
    what = f"file {subject.file_id}" if subject.file_id else "the request"
    who = subject.account or "the Google account the hub uses"
    if status == 429 or found & QUOTA_REASONS:
        wait = parse_retry_after(header(headers, "retry-after"))
        return rate_limited("Google Drive quota exceeded (rate limit); slow down.", wait)
    if found & DAILY_REASONS:
        return rate_limited("Google Drive's daily quota is used up; try again tomorrow.", 3600.0)
    if status == 404:
        return NotFound(
            f"{what} was not found, or is not shared with {who}. Check the id (search_files lists ids); "
            f"if the file exists, share it with {who}."
        )
    if status == 401:
        return AuthError("Google rejected the credentials (401): check the key is valid and not revoked.")
    if status == 403 and found & SCOPE_REASONS:
        return AuthError(
            "the credentials lack the OAuth scope for this: set allow_writes = true for the gdrive instance "
            "(and, with domain-wide delegation, grant the drive scope to the client in the Admin console)."
        )
    if status == 403 and "exportSizeLimitExceeded" in found:
        return InvalidInput(
            f"{what} is too large to export as text (Drive's 10 MB limit); read a spreadsheet by range with "
            "read_sheet, or open the file in Drive."
        )
    if status == 403 and (found & PERMISSION_REASONS or not found):
        return AuthError(
            f"no permission to {subject.action} {what}: share it with {who} "
            f"({'editor' if subject.action != 'read' else 'viewer'} access), or ask its owner."
        )
    if status == 400:
        return InvalidInput(f"Google rejected the request: {message or 'bad request'}")
    if status >= 500:
        return UpstreamUnavailable(f"Google Drive failed ({status}); try again later.")
    return error_for_status(status, service="Google Drive", what=what, detail=message[:200])


def refresh_failed(exc: BaseException, subject: Subject) -> HubError:
    first = exc.args[0] if exc.args else ""
    code = str(first).split(":", 1)[0][:80] if first else "unknown error"
    delegation = (
        " With subject set, also check that domain-wide delegation is granted for the client id and these scopes."
        if subject.delegated
        else ""
    )
    return AuthError(
        f"could not obtain a Google access token ({code}): check the key is current and the account exists."
        + delegation
    )
