"""What one connector instance may ask its service for: a base URL and an allow-list of routes.

A `Scope` is built once per instance from its settings (the GitHub connector's
`repos` allow-list, its base URL). The request guard (`guard.py`) checks every
outgoing request against it *after* normalising the URL, and answers with a
`Target`: the route, the scope key (e.g. the repository `acme/widgets`) and the
resource the request really addresses. Provenance is built from that answer,
never from a tool's arguments.

Routes are an allow-list: a path no route matches is refused, so an endpoint a
connector does not use (or a new spelling of one) fails closed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

#: A query check: the parsed query (every value of every key) -> why it is refused, or None.
QueryCheck = Callable[[Mapping[str, list[str]]], str | None]
#: A body check, for routes whose URL does not say what they address (GraphQL): the request body as
#: sent -> (why it is refused or None, the scope key it addresses). A request without a body, or from a
#: transport that does not pass bodies to the guard, is refused on such a route.
BodyCheck = Callable[[bytes], tuple[str | None, str | None]]


@dataclass(frozen=True)
class Route:
    """One family of requests a connector sends.

    `pattern` is a regular expression matched in full against the request's
    path relative to the scope's base URL, after normalisation and decoding
    (always starting with `/`). Its named group `key`, when present, is the
    scope key checked against `Scope.allows` (a repository, a project, a
    channel). `resource(match)` names what the request addresses (default: the
    path without its leading slash).
    """

    name: str
    pattern: str
    methods: frozenset[str] = frozenset({"GET"})
    query: QueryCheck | None = None
    resource: Callable[[re.Match[str]], str] | None = None
    #: Checks the body and names the key (checked against `Scope.allows`) when the URL cannot.
    body: BodyCheck | None = None

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


@dataclass(frozen=True)
class Target:
    """The guard's answer for an allowed request: what was actually asked for."""

    service: str
    method: str
    #: The normalised URL the transport sends (query included).
    url: str
    #: The decoded path relative to the base URL ("/repos/acme/widgets/contents/a.txt").
    path: str
    route: str
    #: The scope key the request falls under ("acme/widgets"); None for account-level routes.
    key: str | None
    #: What the request addresses, relative to the service ("acme/widgets/contents/a.txt").
    resource: str
    #: True when this is a redirect the connector asked to follow (it inherits key and resource).
    redirected: bool = False

    @property
    def uri(self) -> str:
        """The resource as a provenance URI: `<service>://<resource>`."""
        return f"{self.service}://{self.resource}"


@dataclass(frozen=True)
class Scope:
    """The base URL and the routes one instance may use, and which keys its allow-list admits."""

    service: str
    base_url: str
    routes: tuple[Route, ...]
    #: Whether a scope key is on the allow-list (`GithubSettings.allows`); keys are compared as decoded.
    allows: Callable[[str], bool] = field(default=lambda key: True)
    #: Hosts (fnmatch patterns, lower case) a redirect the connector asked to follow may go to, besides the
    #: base host's paths outside the API (e.g. GitHub's job logs on `*.blob.core.windows.net`).
    redirect_hosts: tuple[str, ...] = ()
    #: True for services that take a path as one encoded segment (GitLab's `group%2Fname`): see `guard.py`.
    encoded_slashes: bool = False
    #: Named in refusals: where the allow-list is configured ("the github repos setting").
    allow_list_name: str = "the allow-list"
    #: Routes on the base URL's host outside its path, matched against the absolute path (GitHub
    #: Enterprise serves GraphQL at `/api/graphql` beside the REST base `/api/v3`).
    host_routes: tuple[Route, ...] = ()
