"""What one Slack workspace connection may send: the request guard's scope (see `mcp_hub.upstream`).

Slack's Web API addresses resources in the parameters, not the path
(`POST /api/chat.postMessage` with `channel=C123` in a form or JSON body), so
the check has two halves:

- the URL, by the kit's `RequestGuard`: the base URL's host and `/api/`, then
  one route per Web API method the tools use (`METHODS`); any other method, or
  another spelling of one, is refused;
- the parameters (query and body, read once by `transport_aiohttp`): only the
  names the tools send for that method; `channel` a plain id (`C…`, `G…`, `D…`);
  for reading a channel's messages a channel the directory knows (its
  visibility came from Slack, never from the caller) that `read_channels` names,
  when it names any; for posting and reacting a known channel that
  `post_channels` names, by id or by the name Slack gave it; `user` a plain user
  id; `team_id` only this instance's. With `read_channels` set, message search
  (which reads every channel the token sees) is refused.

The `Target` names what the request addresses: `T…/channel/C…`,
`T…/user/U…`, `T…/conversations`, `T…/users`, `T…/search`; results are
labelled from it (provenance URI `slack://<resource>`).

Each method also carries its Slack rate-limit tier: the wait assumed when a
429 comes without `Retry-After` (Slack's limits are per method).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from connectors.slack.settings import SlackSettings
from mcp_hub.errors import PolicyDenied
from mcp_hub.upstream import RequestGuard, Route, Scope, Target

DEFAULT_BASE_URL = "https://slack.com/api/"
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
USER_ID = re.compile(r"^[UWB][A-Z0-9]{6,}$")
#: Seconds a 429 without `Retry-After` waits, by Slack tier (1+, 20+, 50+, 100+ per minute; special ~1/s).
TIER_WAIT = {1: 60.0, 2: 3.0, 3: 1.2, 4: 0.6, 0: 1.0}


@dataclass(frozen=True)
class Method:
    tier: int
    #: The parameter names the tools send (slack-sdk adds `team_id` when the instance has one).
    params: frozenset[str]
    #: `channel` rule: None (no channel), "any" (a plain id: a lookup), "known" (read), "post" (write).
    channel: str | None = None
    #: The resource the request addresses, from the workspace id and the parameters.
    resource: Callable[[str, Mapping[str, str]], str] = lambda team, params: f"{team}"


def _channel(team: str, params: Mapping[str, str]) -> str:
    return f"{team}/channel/{params['channel']}"


def _fixed(name: str) -> Callable[[str, Mapping[str, str]], str]:
    return lambda team, params: f"{team}/{name}"


_PAGE = frozenset({"limit", "cursor"})
METHODS: dict[str, Method] = {
    "auth.test": Method(0, frozenset(), resource=lambda team, params: "auth.test"),
    "conversations.list": Method(2, _PAGE | {"types", "exclude_archived"}, resource=_fixed("conversations")),
    "conversations.info": Method(3, frozenset({"channel"}), "any", _channel),
    "conversations.history": Method(3, _PAGE | {"channel", "oldest", "latest"}, "known", _channel),
    "conversations.replies": Method(3, _PAGE | {"channel", "ts"}, "known", _channel),
    "users.info": Method(4, frozenset({"user"}), resource=lambda team, params: f"{team}/user/{params['user']}"),
    "users.list": Method(2, _PAGE, resource=_fixed("users")),
    "search.messages": Method(2, frozenset({"query", "count", "page", "sort", "sort_dir"}), resource=_fixed("search")),
    "chat.postMessage": Method(
        0, frozenset({"channel", "text", "thread_ts", "unfurl_links", "unfurl_media"}), "post", _channel
    ),
    "reactions.add": Method(3, frozenset({"channel", "timestamp", "name"}), "post", _channel),
}


def tier_wait(method: str) -> float:
    """The wait assumed for a 429 of `method` that says nothing (its tier's interval)."""
    found = METHODS.get(method)
    return TIER_WAIT[found.tier if found else 1]


def api_base(settings: SlackSettings) -> str:
    """The Web API's base URL, ending in `/api/` (slack-sdk appends the method name)."""
    base = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
    return (base if base.endswith("/api") else base + "/api") + "/"


class SlackGuard:
    """The request guard of one instance: the kit's URL check, then Slack's parameters.

    `channel_name(id)` is the directory's answer (the channel's name as Slack gave it, "" for a DM, None
    when the directory does not know the id); `team()` the workspace id once known (auth.test).
    """

    def __init__(self, settings: SlackSettings, team: Callable[[], str | None]) -> None:
        self.settings = settings
        self.team = team
        self.channel_name: Callable[[str], str | None] = lambda channel_id: None
        routes = tuple(Route(name, re.escape("/" + name), methods=frozenset({"GET", "POST"})) for name in METHODS)
        self.urls = RequestGuard(
            Scope(
                "slack",
                api_base(settings),
                routes,
                allow_list_name="this workspace's read_channels, post_channels and API methods",
            )
        )

    @property
    def refused(self) -> int:
        return self.urls.refused

    def refuse(self, method: str, url: str, reason: str) -> PolicyDenied:
        return self.urls.refuse(method, url, reason)

    def check(self, http_method: str, url: str, params: Mapping[str, str]) -> Target:
        """The `Target` of an allowed request (the resource it addresses); `PolicyDenied` otherwise."""
        target = self.urls.check(http_method, url)
        reason = self._reason(target.route, params)
        if reason:
            raise self.refuse(http_method, url, reason)
        method = METHODS[target.route]
        team = self.team()
        if team is None and target.route != "auth.test":
            raise self.refuse(http_method, url, "the workspace is not known yet (auth.test first)")
        key = params.get("channel") or params.get("user")
        return replace(target, key=key, resource=method.resource(team or "", params))

    def _reason(self, name: str, params: Mapping[str, str]) -> str | None:
        method = METHODS[name]
        for key, value in params.items():
            if key == "team_id":
                if value != (self.settings.team_id or None):
                    return "its team_id is not this instance's workspace"
            elif key not in method.params:
                return f"{name} is not sent with the parameter {key[:40]!r} by this connector"
        if name == "search.messages" and self.settings.read_channels:
            return "message search reads every channel the token sees: it is off while read_channels limits reads"
        if name == "users.info" and not USER_ID.match(params.get("user", "")):
            return "its user is not a plain user id"
        if method.channel is None:
            return None
        channel = params.get("channel", "")
        if not CHANNEL_ID.match(channel):
            return "its channel is not a plain channel id"
        if method.channel == "any":
            return None
        known = self.channel_name(channel)
        if known is None:
            return f"channel {channel} has not been looked up (its visibility is unknown)"
        if method.channel == "post" and not self.may_post(channel, known):
            return f"channel {channel} is not in post_channels"
        if method.channel == "known" and not self.may_read(channel, known):
            return f"channel {channel} is not in read_channels"
        return None

    def may_post(self, channel_id: str, name: str) -> bool:
        """Whether `post_channels` names the channel, by id or by the name Slack gave it."""
        return _names(self.settings.post_channels, channel_id, name)

    def may_read(self, channel_id: str, name: str) -> bool:
        """Whether the channel's messages may be read: `read_channels` names it, or names nothing."""
        return not self.settings.read_channels or _names(self.settings.read_channels, channel_id, name)


def _names(allowed: list[str], channel_id: str, name: str) -> bool:
    """Whether `allowed` names the channel, by id or by the name Slack gave it (`#` and case aside)."""
    allow = {c.strip().lstrip("#").casefold() for c in allowed}
    return channel_id.casefold() in allow or (bool(name) and name.casefold() in allow)
