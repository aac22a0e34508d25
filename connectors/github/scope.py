"""What one GitHub account may ask for: the request guard's scope (see `mcp_hub.upstream`).

Three route families, nothing else: `GET /user`, the two searches (their `q`
may name only allow-listed repositories and owners, and must name some when
there is an allow-list), and everything under `/repos/{owner}/{repo}` for an
allow-listed repository, with the methods the tools use. A result's resource
is the request's path under `/repos/` (`acme/widgets/issues/40`).

Redirects the client asks to follow (a job's log) may go to GitHub's storage
hosts or to the base host outside the API; PyGithub drops the token when the
host changes.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.github.graphql import LearnedThreads, graphql_route
from connectors.github.settings import GithubSettings
from mcp_hub.upstream import Route, Scope
from mcp_hub.upstream.scope import QueryCheck

DEFAULT_API_URL = "https://api.github.com"
#: Where GitHub redirects downloads (job logs, archives, artifacts).
STORAGE_HOSTS = ("*.githubusercontent.com", "*.blob.core.windows.net")
_QUALIFIERS = ("repo:", "user:", "org:", "owner:")


def search_query_check(settings: GithubSettings) -> QueryCheck:
    """The check of a search's `q`: only allow-listed `repo:`/`user:`/`org:` qualifiers, at least one of them."""

    def check(query: Mapping[str, list[str]]) -> str | None:
        allowed_owners = {p[:-2] for p in settings.repos if p.endswith("/*")}
        scoped = False
        for q in query.get("q", []):
            for word in q.split():
                term = word.strip("\"'()").lower()
                negated = term.startswith("-")
                term = term.lstrip("-")
                qualifier = next((k for k in _QUALIFIERS if term.startswith(k)), None)
                if qualifier is None:
                    continue
                value = term[len(qualifier) :]
                if negated:
                    continue  # a negated qualifier only narrows the search
                owner_ok = not settings.repos or value in allowed_owners
                ok = settings.allows(value) if qualifier == "repo:" else owner_ok
                if not ok:
                    return f"the search names {qualifier}{value}, which is not on the github repos allow-list"
                scoped = True
        if settings.repos and not scoped:
            return "a search must be limited to the allow-listed repositories (repo:/user: qualifiers)"
        return None

    return check


def app_routes(settings: GithubSettings) -> tuple[Route, ...]:
    """A GitHub App's own two requests, for its configured installation only: the App (`GET /app`, its
    slug) and the exchange of its JWT for that installation's token. None for a token."""
    if settings.app_id is None or settings.installation_id is None:
        return ()
    return (
        Route("app", r"/app"),
        Route(
            "installation token",
            rf"/app/installations/{int(settings.installation_id)}/access_tokens",
            methods=frozenset({"POST"}),
        ),
    )


def github_scope(settings: GithubSettings, threads: LearnedThreads | None = None) -> Scope:
    """The scope; with `threads`, also GraphQL's endpoint for the review-thread documents (`graphql.py`)."""
    check = search_query_check(settings)
    base_url = (settings.base_url or DEFAULT_API_URL).rstrip("/")
    host_routes = (graphql_route(base_url, threads),) if threads is not None else ()
    return Scope(
        service="github",
        base_url=(settings.base_url or DEFAULT_API_URL).rstrip("/"),
        routes=(
            Route("user", r"/user"),
            Route("search", r"/search/(?:issues|code)", query=check),
            Route(
                "repository",
                r"/repos/(?P<key>[^/]+/[^/]+)(?:/.+)?",
                methods=frozenset({"GET", "POST", "PATCH", "PUT"}),
                resource=lambda match: match.group(0).removeprefix("/repos/"),
            ),
            *app_routes(settings),
        ),
        allows=settings.allows,
        redirect_hosts=STORAGE_HOSTS,
        allow_list_name="this account's repositories (github repos setting)",
        host_routes=host_routes,
    )
