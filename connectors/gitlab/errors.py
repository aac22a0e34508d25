"""python-gitlab / requests exceptions -> the hub's error tree (the kit's status table).

Messages quote GitLab's own `message`/`error` field (short, never a URL with
credentials) and say what to do next; the token never appears because it is
never part of what we format (and the hub's redactor would mask it anyway).
The error *kind* of a status is the kit's (`mcp_hub.upstream.statuses`), the
same as on every other connector. Anything `translate` does not recognise is
the hub's own bug: it returns None and the kit's call path reports it with a
traceback and an incident id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mcp_hub.errors import AuthError, ConnectorError, HubError, RateLimited, UpstreamTimeout, UpstreamUnavailable
from mcp_hub.upstream.statuses import error_for_status

_MAX_MESSAGE = 300

_ADVICE: dict[int, str] = {
    401: "Check that GITLAB_TOKEN is valid and not expired.",
    403: (
        "The token lacks a scope (read_api for reads, api for writes) or the role needed; "
        "use something it can access or ask for more access."
    ),
    404: "Check the project, name, id or ref.",
    409: "Re-read the current state and retry with fresh values (conflict).",
}


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


def translate(exc: BaseException, what: str) -> HubError | None:
    """The `HubError` for an exception raised while talking to GitLab; None when it is not GitLab's or the network's."""
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
    if isinstance(exc, gitlab.exceptions.RedirectError):
        return ConnectorError("GitLab redirected a request that cannot follow redirects; check base_url.")
    if isinstance(exc, gitlab.exceptions.GitlabError):
        code = exc.response_code or (401 if isinstance(exc, gitlab.exceptions.GitlabAuthenticationError) else 0)
        if not code:
            return None
        detail = gitlab_message(exc.error_message)
        if code == 401:
            return AuthError(f"GitLab rejected the token (401). {_ADVICE[401]}")
        return error_for_status(code, service="GitLab", what=what, detail=detail, advice=_ADVICE.get(code))
    return None
