"""slack-sdk's AsyncWebClient, opened lazily, on the kit's call path, behind the request guard.

One aiohttp session per instance (opened on the first call, closed by the connector's lifespan) is shared
by the bot and user clients. The session carries the request guard as an aiohttp middleware
(`mcp_hub.upstream.transport_aiohttp`): every request slack-sdk sends through it, redirects included, is
checked with its parameters against the instance's scope (`connectors.slack.scope`) and journalled, or
refused and never sent. `GuardedWebClient` refuses to send when that session is gone, instead of letting
slack-sdk open an unguarded session of its own.

slack-sdk's retry handlers are off: each call goes through the kit's `Upstream` (one retry policy, the
kit's status table), with one shared `RateBudget` per token and Web API method (Slack's limits are per
method, per app and workspace: a throttled `conversations.history` leaves `users.info` alone). A 429's
`Retry-After` (else the method tier's interval) is recorded in that budget; later calls of that method,
in this process or, with `hub.state_url`, in any replica, wait or fail fast instead of hammering it.
Slack sends no remaining count, so the hub's rate-limit gauge has no Slack series.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio

from connectors.slack.errors import translator
from connectors.slack.scope import SlackGuard, api_base
from connectors.slack.settings import SlackSettings
from mcp_hub.errors import AuthError
from mcp_hub.state import InProcessState, RateBudget, StateStore, credential_key
from mcp_hub.upstream import Target, Upstream, internal_error, journal

if TYPE_CHECKING:
    import aiohttp
    from slack_sdk.web.async_client import AsyncWebClient


@dataclass(frozen=True, slots=True)
class Workspace:
    """Who the bot token belongs to (auth.test)."""

    team_id: str
    enterprise_id: str | None
    host: str  # acme.slack.com


class SlackClient:
    def __init__(self, settings: SlackSettings, state: StateStore | None = None, instance: str = "default") -> None:
        self.settings = settings
        self.instance = instance
        #: Where rate-limit budgets live: shared with the hub's other replicas (mcp_hub.state).
        self.state: StateStore = state if state is not None else InProcessState()
        self.guard = SlackGuard(settings, self._team)
        self._session: aiohttp.ClientSession | None = None
        self._clients: dict[bool, AsyncWebClient] = {}
        self._upstreams: dict[tuple[bool, str], Upstream] = {}
        self._workspace: Workspace | None = None
        self._workspace_lock = anyio.Lock()

    def _team(self) -> str | None:
        return self.settings.team_id or (self._workspace.team_id if self._workspace else None)

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            self._clients.clear()
            await session.close()

    def _guarded_session(self) -> aiohttp.ClientSession:
        import aiohttp

        from mcp_hub.upstream.transport_aiohttp import guard_middleware

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_s),
                trust_env=True,
                middlewares=(guard_middleware(self.guard.check, self.guard.refuse),),
            )
        return self._session

    def _client(self, user: bool) -> AsyncWebClient:
        client = self._clients.get(user)
        if client is not None:
            return client
        from connectors.slack.transport import GuardedWebClient

        secret = self.settings.user_token if user else self.settings.bot_token
        if secret is None:
            raise AuthError(
                "searching Slack needs a user token (search:read): set SLACK_USER_TOKEN or MCP_HUB_SLACK__USER_TOKEN."
                if user
                else "no Slack bot token: set SLACK_BOT_TOKEN or MCP_HUB_SLACK__BOT_TOKEN."
            )
        proxy = self.settings.proxy.get_secret_value() if self.settings.proxy is not None else None
        client = GuardedWebClient(
            token=secret.get_secret_value(),
            base_url=api_base(self.settings),
            timeout=int(max(1, self.settings.timeout_s)),
            ssl=self._ssl_context(),
            proxy=proxy,
            session=self._guarded_session(),
            team_id=self.settings.team_id,
            retry_handlers=[],
        )
        self._clients[user] = client
        return client

    def _ssl_context(self) -> ssl.SSLContext:
        # create_default_context honours SSL_CERT_FILE/SSL_CERT_DIR through OpenSSL's default paths.
        return ssl.create_default_context(cafile=self.settings.ca_bundle)

    def upstream(self, method: str, user_token: bool = False) -> Upstream:
        """The call path of one token and Web API method: its own shared budget, the kit's policy."""
        found = self._upstreams.get((user_token, method))
        if found is None:
            secret = self.settings.user_token if user_token else self.settings.bot_token
            token = secret.get_secret_value() if secret is not None else None
            key = credential_key("slack", self.settings.base_url, token, scope=method)
            found = self._upstreams[(user_token, method)] = Upstream(
                "Slack",
                self.settings,
                translate=translator("SLACK_USER_TOKEN" if user_token else "SLACK_BOT_TOKEN"),
                instance=self.instance,
                budget=RateBudget(self.state, key),
            )
        return found

    async def request(
        self, method: str, *, user_token: bool = False, idempotent: bool = True, **params: Any
    ) -> tuple[dict[str, Any], Target]:
        """Call a Web API method (e.g. "conversations.history") through slack-sdk: the parsed body, and the
        guard's `Target` of the request actually sent (what the result is labelled from)."""
        client = self._client(user_token)
        if method != "auth.test" and self._team() is None:
            await self.workspace()  # resources are named by workspace: know it before the first request
        bound = getattr(client, method.replace(".", "_"))
        params = {k: v for k, v in params.items() if v is not None}

        async def send() -> tuple[dict[str, Any], Target]:
            with journal() as sent:
                response = await bound(**params)
            target = sent.last
            if target is None:  # the transport did not journal the request: never label from arguments
                raise internal_error("Slack", method, AssertionError("the request guard journalled no request"))
            data: dict[str, Any] = dict(response.data) if isinstance(response.data, dict) else {}
            return data, target

        return await self.upstream(method, user_token).run_async(send, what=method, idempotent=idempotent)

    async def call(
        self, method: str, *, user_token: bool = False, idempotent: bool = True, **params: Any
    ) -> dict[str, Any]:
        """`request` without the target, for callers that label nothing from it."""
        data, _ = await self.request(method, user_token=user_token, idempotent=idempotent, **params)
        return data

    async def workspace(self) -> Workspace:
        """The bot token's workspace (auth.test), asked once and cached."""
        async with self._workspace_lock:
            if self._workspace is None:
                data = await self.call("auth.test")
                host = urlsplit(str(data.get("url") or "")).hostname or ""
                self._workspace = Workspace(
                    team_id=str(data.get("team_id") or self.settings.team_id or ""),
                    enterprise_id=data.get("enterprise_id") or None,
                    host=host.lower(),
                )
            return self._workspace
