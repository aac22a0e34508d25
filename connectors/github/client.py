"""One GitHub account: PyGithub's requester, an ETag cache, rate-limit discipline, the hub's retries.

Every request goes through PyGithub's `Requester.requestJson` (the real SDK:
its auth, App installation tokens refreshed before expiry, connection
handling) rather than its object model, whose lazy completion can turn one
call into N+1 requests. PyGithub's own retries and throttling are off
(`retry=None`, no pauses between requests); `mcp_hub.retry.retrying` owns
backoff, and a request is not even sent while the last response said the
primary rate limit is used up.

GETs are conditional: the last ETag of each URL is sent as `If-None-Match`,
and a 304 (which GitHub does not count against the rate limit) answers from
the cache (`EtagCache`, locked: worker threads share it).

The call path is the kit's (`mcp_hub.upstream.Upstream`: budget, worker
thread, retries, translation), and the request guard sits at PyGithub's own
transport (`connectors.github.transport`): every response carries the
`Target` the guard answered for the request actually sent, and results are
labelled from it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connectors.github.errors import SECONDARY_DEFAULT_WAIT, from_response, primary_limit_error, translate
from connectors.github.graphql import RESOLVE, LearnedThreads
from connectors.github.scope import DEFAULT_API_URL, github_scope
from connectors.github.settings import GithubSettings
from connectors.github.transport import guard as guard_requester
from mcp_hub import metrics
from mcp_hub.errors import AuthError, ConfigError
from mcp_hub.state import RateBudget
from mcp_hub.upstream import RequestGuard, Target, Upstream, journal

if TYPE_CHECKING:
    from github import Github

USER_AGENT = "mcp-hub"
JSON = "application/vnd.github+json"


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: Any
    #: What the request guard let through for this response: the request actually sent.
    target: Target
    from_cache: bool = False

    @property
    def has_next(self) -> bool:
        return 'rel="next"' in self.headers.get("link", "")


@dataclass(slots=True)
class _Cached:
    etag: str
    headers: dict[str, str]
    body: Any


class EtagCache:
    """The last 200 answer of each GET, for conditional requests; an LRU shared by worker threads.

    Every read and write holds the lock: an eviction in one thread must not run between another
    thread's lookup and its refresh of the same entry.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Cached] = OrderedDict()

    def get(self, key: str) -> _Cached | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: str, entry: _Cached) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


@dataclass
class Stats:
    """What this account sent: requests, and how many were answered by a 304."""

    requests: int = 0
    not_modified: int = 0
    by_route: dict[str, int] = field(default_factory=dict)


class GithubClient:
    def __init__(
        self, settings: GithubSettings, *, instance: str = "default", budget: RateBudget | None = None
    ) -> None:
        self.settings = settings
        self.instance = instance
        #: This account's rate-limit state shared with the hub's other replicas (mcp_hub.state).
        self.budget = budget
        #: The request guard at PyGithub's transport: this account's allow-list and base URL.
        #: Review-thread ids read from allowed repositories: the only ones `resolveReviewThread` may name.
        self.threads = LearnedThreads()
        self.guard = RequestGuard(github_scope(settings, self.threads))
        self.upstream = Upstream(
            "GitHub",
            settings,
            translate=translate,
            instance=instance,
            budget=budget,
            used_up=self._used_up,
            max_concurrency=settings.max_concurrency,
        )
        self.stats = Stats()
        self._gh: Github | None = None
        self._lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self.cache = EtagCache(settings.etag_cache_entries)
        self._blocked_until = 0.0
        self._slug: str | None = None
        self._account: dict[str, Any] | None = None
        self._account_refused: AuthError | None = None

    # -- SDK -----------------------------------------------------------------------------------

    def _github(self) -> Github:
        with self._lock:
            if self._gh is None:
                self._gh = self._build()
            return self._gh

    def _build(self) -> Github:
        from github import Auth, Github

        settings = self.settings
        auth: Auth.Auth
        if settings.token is not None:
            auth = Auth.Token(settings.token.get_secret_value())
        else:
            assert settings.app_id is not None and settings.private_key is not None
            assert settings.installation_id is not None
            key = settings.private_key
            # A callable key is re-read on every JWT, so a rotated key file takes effect.
            app = Auth.AppAuth(settings.app_id, lambda: key.get_secret_value())
            auth = app.get_installation_auth(settings.installation_id)
        github = Github(
            auth=auth,
            base_url=(settings.base_url or DEFAULT_API_URL).rstrip("/"),
            timeout=int(max(1, settings.timeout_s)),
            user_agent=USER_AGENT,
            verify=settings.verify(),
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
        )
        guard_requester(github.requester, self.guard, settings.proxies())
        if settings.token is None:
            # The installation token is fetched by PyGithub's own GithubIntegration, on a requester of
            # its own: it crosses the same guard (its route is this installation's exchange only).
            guard_requester(_token_requester(auth), self.guard, settings.proxies())
        return github

    async def account(self) -> dict[str, Any]:
        """Who these credentials act as, read once: `{"login", "type", "name"}`.

        A token reads `/user`; an App's bot is `<slug>[bot]` (`GET /app`). An installation token
        given as a token (GitHub Actions' `GITHUB_TOKEN`) cannot read `/user`: `bot_login` names
        it, and inside GitHub Actions it is `github-actions[bot]`.
        """
        if self._account_refused is not None:
            raise self._account_refused  # an answer that will not change: no request per call
        if self._account is None:
            try:
                self._account = await self._read_account()
            except AuthError as exc:
                self._account_refused = exc
                raise
        return self._account

    async def _read_account(self) -> dict[str, Any]:
        settings = self.settings
        if settings.bot_login:
            kind = "Bot" if settings.bot_login.endswith("[bot]") else "User"
            return {"login": settings.bot_login, "type": kind, "name": None}
        if settings.token is None:
            return {"login": f"{await self.app_slug()}[bot]", "type": "Bot", "name": None}
        response = await self.get("/user", what="the token's user", ok=(403,))
        if response.status == 403:
            if os.environ.get("GITHUB_ACTIONS") == "true":
                return {"login": "github-actions[bot]", "type": "Bot", "name": None}
            raise AuthError(
                "This token cannot read its own user (an App installation token?). Set "
                "MCP_HUB_GITHUB__BOT_LOGIN to the login it posts as, e.g. my-app[bot]."
            )
        user = response.body
        login, kind = str(user.get("login") or ""), str(user.get("type") or "User")
        return {"login": login, "type": kind, "name": user.get("name")}

    async def app_slug(self) -> str:
        """The GitHub App's slug (`GET /app`, signed with the App's JWT); its bot posts as `<slug>[bot]`."""
        if self._slug is None:
            self._slug = await self.upstream.run(self._read_app_slug, what="the GitHub App", idempotent=True)
        return self._slug

    def _read_app_slug(self) -> str:
        from github import Auth, GithubIntegration

        settings = self.settings
        assert settings.app_id is not None and settings.private_key is not None
        key = settings.private_key
        integration = GithubIntegration(
            auth=Auth.AppAuth(settings.app_id, lambda: key.get_secret_value()),
            base_url=(settings.base_url or DEFAULT_API_URL).rstrip("/"),
            timeout=int(max(1, settings.timeout_s)),
            user_agent=USER_AGENT,
            verify=settings.verify(),
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        guard_requester(integration.requester, self.guard, settings.proxies())
        try:  # signed with the App's JWT: a fixed route, not the installation's requester
            return str(integration.get_app().slug)
        finally:
            integration.close()

    def close(self) -> None:
        with self._lock:
            if self._gh is not None:
                self._gh.close()
                self._gh = None

    # -- requests ------------------------------------------------------------------------------

    async def request(
        self,
        verb: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        accept: str = JSON,
        follow_redirect: bool = False,
        ok: tuple[int, ...] = (),
    ) -> Response:
        """Send one request (retried under the hub's policy) and return the decoded response.

        Raises a `HubError` for any status >= 400 not in `ok`; `what` names the
        thing asked for in that error ("pull request o/r#5").
        """

        return await self.upstream.run(
            self._send, verb, path, params, body, accept, follow_redirect, what, ok, what=what, idempotent=verb == "GET"
        )

    def _used_up(self) -> tuple[float, str] | None:
        """Until when, and why, when the last answer used the last request of the window."""
        wait = self._blocked_until - time.time()
        return (self._blocked_until, primary_limit_error(wait).reason) if wait > 0 else None

    async def get(self, path: str, *, what: str, **kwargs: Any) -> Response:
        return await self.request("GET", path, what=what, **kwargs)

    def _send(
        self,
        verb: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        accept: str,
        follow_redirect: bool,
        what: str,
        ok: tuple[int, ...],
    ) -> Response:
        wait = self._blocked_until - time.time()
        if wait > 0:
            raise primary_limit_error(wait)
        query = {
            k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in (params or {}).items() if v is not None
        }
        key = f"{accept} {path}?{json.dumps(query, sort_keys=True)}"
        headers = {"Accept": accept}
        cached = self.cache.get(key) if verb == "GET" else None
        if cached is not None:
            headers["If-None-Match"] = cached.etag
        with journal(follow_redirects=follow_redirect) as sent:
            status, raw_headers, output = self._github().requester.requestJson(
                verb, path, query or None, headers, body, follow_302_redirect=follow_redirect
            )
        target = sent.answered
        if target is None:  # the guard did not see this request: never label (or return) what it fetched
            raise AssertionError("a GitHub request went out without passing the request guard")
        response_headers = {k.lower(): str(v) for k, v in raw_headers.items()}
        self._count(verb, path, status)
        self._note_rate_limit(status, response_headers)
        if status == 304 and cached is not None:
            return Response(200, cached.headers, cached.body, target, from_cache=True)
        decoded = _decode(output, response_headers)
        if status >= 400 and status not in ok:
            raise from_response(status, response_headers, decoded, what)
        etag = response_headers.get("etag")
        if verb == "GET" and status == 200 and etag:
            self.cache.put(key, _Cached(etag, {"link": response_headers.get("link", "")}, decoded))
        return Response(status, response_headers, decoded, target)

    async def graphql(self, query: str, variables: dict[str, Any], *, what: str) -> Response:
        """One of the connector's GraphQL documents (`graphql.py`), checked by the guard on its body."""
        return await self.upstream.run(self._graphql, query, variables, what=what, idempotent=query != RESOLVE)

    def _graphql(self, query: str, variables: dict[str, Any]) -> Response:
        with journal() as sent:
            headers, data = self._github().requester.graphql_query(query, variables)
        target = sent.answered
        if target is None:  # the guard did not see this request: never label (or return) what it fetched
            raise AssertionError("a GitHub request went out without passing the request guard")
        self._count("POST", "/graphql", 200)
        return Response(200, {k.lower(): str(v) for k, v in headers.items()}, data, target)

    def _count(self, verb: str, path: str, status: int) -> None:
        route = f"{verb} {path}"
        with self._stats_lock:
            self.stats.requests += 1
            if status == 304:
                self.stats.not_modified += 1
            self.stats.by_route[route] = self.stats.by_route.get(route, 0) + 1

    def _note_rate_limit(self, status: int, headers: Mapping[str, str]) -> None:
        """Remember a used-up primary limit, so no request is sent before it resets."""
        remaining = headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.isdigit():
            metrics.record_rate_limit("github", self.instance, int(remaining))
        if remaining == "0":
            try:
                self._blocked_until = float(headers.get("x-ratelimit-reset", "0"))
            except ValueError:
                self._blocked_until = time.time() + SECONDARY_DEFAULT_WAIT
        elif status < 400:
            self._blocked_until = 0.0

    @property
    def rate_limit(self) -> tuple[int, int]:
        """(remaining, limit) from the last response; (-1, -1) before any."""
        if self._gh is None:
            return (-1, -1)
        remaining, limit = self._gh.requester.rate_limiting
        return remaining, limit


def _token_requester(auth: Any) -> Any:
    """The requester PyGithub's App installation auth exchanges its JWT on (a private attribute: if an
    upgrade renames it, the connector refuses to run rather than leave that request unguarded)."""
    integration = getattr(auth, "_AppInstallationAuth__integration", None)
    requester = getattr(integration, "requester", None)
    if requester is None:
        raise ConfigError(
            "this PyGithub version keeps the App installation's token exchange where the request guard "
            "cannot reach it, so the GitHub connector refuses to run; use the PyGithub version pinned by mcp-hub"
        )
    return requester


def _decode(output: Any, headers: Mapping[str, str]) -> Any:
    if isinstance(output, bytes):
        output = output.decode("utf-8", errors="replace")
    if not isinstance(output, str) or not output:
        return None
    if "json" in headers.get("content-type", ""):
        try:
            return json.loads(output)
        except ValueError:
            return {"message": "GitHub sent a malformed JSON body"}
    return output
