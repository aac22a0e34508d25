"""slack-sdk's AsyncWebClient, opened lazily, with the hub's retries and per-method rate-limit budgets.

One aiohttp session per instance (opened on the first call, closed by the connector's lifespan) is shared
by the bot and user clients. slack-sdk's retry handlers are off: `call` wraps every request in
`mcp_hub.retry.retrying`, and a 429's `Retry-After` is recorded in the budget of that token and method
(Slack's limits are per method, per app and workspace: a throttled `conversations.history` leaves
`users.info` alone). Later calls of that method, in this process or, with `hub.state_url`, in any replica,
wait (or fail fast when the wait is too long) instead of hammering a throttled tier. Slack sends no
remaining count, so the hub's rate-limit gauge has no Slack series.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio

from connectors.slack.errors import translate
from connectors.slack.settings import SlackSettings
from mcp_hub.errors import AuthError
from mcp_hub.retry import DEFAULT_POLICY, RetryPolicy, retrying
from mcp_hub.state import InProcessState, RateBudget, StateStore, credential_key

if TYPE_CHECKING:
    import aiohttp
    from slack_sdk.web.async_client import AsyncWebClient

DEFAULT_BASE_URL = "https://slack.com/api/"


@dataclass(frozen=True, slots=True)
class Workspace:
    """Who the bot token belongs to (auth.test)."""

    team_id: str
    enterprise_id: str | None
    host: str  # acme.slack.com


class SlackClient:
    def __init__(
        self, settings: SlackSettings, policy: RetryPolicy = DEFAULT_POLICY, state: StateStore | None = None
    ) -> None:
        self.settings = settings
        self.policy = policy
        #: Where rate-limit budgets live: shared with the hub's other replicas (mcp_hub.state).
        self.state: StateStore = state if state is not None else InProcessState()
        self._session: aiohttp.ClientSession | None = None
        self._clients: dict[bool, AsyncWebClient] = {}
        self._budgets: dict[tuple[bool, str], RateBudget] = {}
        self._workspace: Workspace | None = None
        self._workspace_lock = anyio.Lock()

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            self._clients.clear()
            await session.close()

    def _client(self, user: bool) -> AsyncWebClient:
        client = self._clients.get(user)
        if client is not None:
            return client
        import aiohttp
        from slack_sdk.web.async_client import AsyncWebClient

        secret = self.settings.user_token if user else self.settings.bot_token
        if secret is None:
            raise AuthError(
                "searching Slack needs a user token (search:read): set SLACK_USER_TOKEN or MCP_HUB_SLACK__USER_TOKEN."
                if user
                else "no Slack bot token: set SLACK_BOT_TOKEN or MCP_HUB_SLACK__BOT_TOKEN."
            )
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_s), trust_env=True
            )
        base = (self.settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        if not base.endswith("/api"):
            base += "/api"
        client = AsyncWebClient(
            token=secret.get_secret_value(),
            base_url=base + "/",
            timeout=int(self.settings.timeout_s),
            ssl=self._ssl_context(),
            session=self._session,
            team_id=self.settings.team_id,
            retry_handlers=[],
        )
        self._clients[user] = client
        return client

    def _ssl_context(self) -> ssl.SSLContext:
        # create_default_context honours SSL_CERT_FILE/SSL_CERT_DIR through OpenSSL's default paths.
        return ssl.create_default_context(cafile=self.settings.ca_bundle)

    async def call(
        self, method: str, *, user_token: bool = False, idempotent: bool = True, **params: Any
    ) -> dict[str, Any]:
        """Call a Web API method (e.g. "conversations.history") through its slack-sdk method; the parsed body."""
        client = self._client(user_token)
        token_name = "SLACK_USER_TOKEN" if user_token else "SLACK_BOT_TOKEN"
        bound = getattr(client, method.replace(".", "_"))
        params = {k: v for k, v in params.items() if v is not None}

        budget = self.budget(method, user_token)

        async def send() -> dict[str, Any]:
            try:
                response = await bound(**params)
            except Exception as exc:
                raise translate(exc, method, token_name) from None
            data: dict[str, Any] = dict(response.data) if isinstance(response.data, dict) else {}
            return data

        # An earlier Retry-After of this method (from any replica) raises before sending; `retrying`
        # waits it out, or hands it to the caller when it is longer than the policy's max_wait.
        return await retrying(lambda: budget.guard(send), policy=self.policy, idempotent=idempotent)

    def budget(self, method: str, user_token: bool = False) -> RateBudget:
        """The shared budget of one token and Web API method."""
        found = self._budgets.get((user_token, method))
        if found is None:
            secret = self.settings.user_token if user_token else self.settings.bot_token
            token = secret.get_secret_value() if secret is not None else None
            key = credential_key("slack", self.settings.base_url, token, scope=method)
            found = self._budgets[(user_token, method)] = RateBudget(self.state, key)
        return found

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
