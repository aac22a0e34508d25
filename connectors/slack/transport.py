"""The one thing slack-sdk could send past the request guard, closed.

The guard itself is an aiohttp middleware on the session the connector hands to
`AsyncWebClient(session=...)` (see `client.py`). slack-sdk sends every request
through that session (`_request_with_session` calls `session.request`), except
when the session is missing or closed: then it opens a session of its own,
without the middleware. `GuardedWebClient` refuses that case (a call racing the
connector's shutdown) before slack-sdk gets to it, for API calls (`_request`)
and file uploads (`_upload_file`) alike.

If a slack-sdk upgrade renames these methods, the check in `guarded_methods`
fails loudly at the first client instead of leaving a path unguarded.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from mcp_hub.errors import ConfigError, UpstreamUnavailable

_SENDERS = ("_request", "_upload_file")


def guarded_methods() -> None:
    """Raise `ConfigError` when slack-sdk no longer sends through the methods `GuardedWebClient` overrides."""
    missing = [name for name in _SENDERS if not callable(getattr(AsyncWebClient, name, None))]
    if missing:
        raise ConfigError(
            f"this slack-sdk version has no AsyncWebClient.{', '.join(missing)}: the request guard cannot be "
            "verified, so the Slack connector refuses to run; use the slack-sdk version pinned by mcp-hub"
        )


class GuardedWebClient(AsyncWebClient):
    """An `AsyncWebClient` that sends only through its own open (guarded) session."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        guarded_methods()
        super().__init__(*args, **kwargs)

    def _usable(self) -> None:
        if self.session is None or self.session.closed:
            raise UpstreamUnavailable("the Slack connection is closing; try again.")

    async def _request(self, *, http_verb: str, api_url: str, req_args: dict[str, Any]) -> dict[str, Any]:
        self._usable()
        result: dict[str, Any] = await super()._request(http_verb=http_verb, api_url=api_url, req_args=req_args)
        return result

    async def _upload_file(self, **kwargs: Any) -> Any:
        self._usable()
        return await super()._upload_file(**kwargs)
