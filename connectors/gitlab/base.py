"""What every GitLab tool shares: the client, calls with retries, project metadata, allow-list and outsider text.

Project metadata (id, path, visibility) is read once per project and cached
(`cache_ttl_s`): it labels every result with the project's visibility and is
what the allow-list is checked against.

Outsider text: GitLab has no "author association" field, so membership is
decided from the project's members (`/members/all`, inherited members
included), read once per project and cached. In a private project only members
(and administrators) can write at all, so no member list is fetched there and
nothing is an outsider; in internal and public projects every author who is not
a member is an outsider. When the member list is longer than
`members_max_pages` pages, authors not found in it count as outsiders (safe side).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from connectors.gitlab.settings import GitlabSettings
from mcp_hub.calls import lockdown_requested
from mcp_hub.connector import Connector, ConnectorContext, ToolOutput
from mcp_hub.errors import HubError, InvalidInput, PolicyDenied
from mcp_hub.paging import decode_cursor, encode_cursor
from mcp_hub.provenance import Provenance, Visibility, clean_outsider_text
from mcp_hub.retry import retrying
from mcp_hub.state import RateBudget, credential_key
from mcp_hub.threads import BlockingRunner

if TYPE_CHECKING:
    from gitlab import Gitlab

    from connectors.gitlab.client import LimitWatch

T = TypeVar("T")
D = TypeVar("D", bound=BaseModel)

WITHHELD = "[withheld: written by someone outside the project; lockdown is on]"


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    id: int
    path: str
    visibility: Visibility
    default_branch: str | None


class TextGuard:
    """Cleans or withholds outsider text for one result and remembers whether any was kept."""

    def __init__(self, members: frozenset[str] | None, lockdown: bool) -> None:
        self._members = members
        self._lockdown = lockdown
        self.outsider_text = False

    def is_outsider(self, author: str | None) -> bool:
        return self._members is not None and (author or "").lower() not in self._members

    def text(self, author: str | None, text: str | None) -> str:
        text = text or ""
        if not text or not self.is_outsider(author):
            return text
        if self._lockdown:
            return WITHHELD
        self.outsider_text = True
        return clean_outsider_text(text)


class GitlabBase(Connector[GitlabSettings]):
    """Shared plumbing of the tool mixins; `GitlabConnector` is the class the hub loads."""

    def __init__(self, instance: str, settings: GitlabSettings, context: ConnectorContext) -> None:
        super().__init__(instance, settings, context)
        self._client: Gitlab | None = None
        self._watch: LimitWatch | None = None
        self._runner = BlockingRunner(settings.max_concurrency)
        token = settings.token.get_secret_value() if settings.token is not None else None
        #: This token's rate-limit state, shared with the hub's other replicas (mcp_hub.state).
        self.budget = RateBudget(context.state, credential_key("gitlab", settings.url, token))
        self._projects: dict[str, tuple[float, ProjectInfo]] = {}
        self._members: dict[int, tuple[float, frozenset[str]]] = {}
        self._allow_ids = frozenset(p for p in settings.projects if p.isdigit())
        self._allow_globs = tuple(p.lower() for p in settings.projects if not p.isdigit())

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if self._client is not None:
                client, self._client = self._client, None
                client.session.close()

    def gl(self) -> Gitlab:
        if self._client is None:
            from connectors.gitlab.client import LimitWatch, make_client

            self._watch = LimitWatch(self.instance)
            self._client = make_client(self.settings, self._watch)
        return self._client

    async def call(self, fn: Callable[[Gitlab], T], *, what: str = "the resource", idempotent: bool = True) -> T:
        """Run `fn(client)` in a worker thread under the hub's retry policy, errors translated."""
        from connectors.gitlab.errors import translate, upstream_errors

        errors = upstream_errors()
        gl = self.gl()

        async def send() -> T:
            try:
                return await self._runner.run(fn, gl)
            except HubError:
                raise
            except errors as exc:
                raise translate(exc, what) from None

        async def once() -> T:
            # another replica may have used the token's budget up: then nothing is sent
            return await self.budget.guard(send, self._used_up)

        return await retrying(once, idempotent=idempotent)

    def _used_up(self) -> tuple[float, str] | None:
        """Until when, and why, when GitLab's last answer said `RateLimit-Remaining: 0`."""
        from connectors.gitlab.errors import window_used_up

        if self._watch is None or self._watch.wait() <= 0:
            return None
        return self._watch.blocked_until, window_used_up(self._watch.blocked_until)

    # -- projects ------------------------------------------------------------------------------

    async def project(self, project: str) -> ProjectInfo:
        """Metadata of `project` (path or numeric id), cached; PolicyDenied outside the allow-list."""
        key = project.strip().strip("/").lower()
        if not key:
            raise InvalidInput("project is empty: pass 'group/name' or a numeric id")
        cached = self._projects.get(key)
        if cached is not None and cached[0] > time.monotonic():
            info = cached[1]
        else:
            from connectors.gitlab.client import get_json, pid

            raw = await self.call(lambda gl: get_json(gl, f"/projects/{pid(key)}"), what=f"project {project!r}")
            vis = raw.get("visibility")
            info = ProjectInfo(
                id=int(raw["id"]),
                path=str(raw.get("path_with_namespace") or key),
                visibility=vis if vis in ("public", "internal", "private") else "private",
                default_branch=raw.get("default_branch"),
            )
            expires = time.monotonic() + self.settings.cache_ttl_s
            for alias in (key, str(info.id), info.path.lower()):
                self._projects[alias] = (expires, info)
        if not self.allowed(info):
            raise PolicyDenied(f"project {info.path} is not in this hub's GitLab allow-list (projects setting).")
        return info

    def allowed(self, info: ProjectInfo) -> bool:
        if not self.settings.projects:
            return True
        if str(info.id) in self._allow_ids:
            return True
        path = info.path.lower()
        return any(fnmatchcase(path, glob) for glob in self._allow_globs)

    @staticmethod
    def out(data: D, provenance: Provenance) -> ToolOutput[D]:
        """A result whose text leaves out null fields (they cost tokens and say nothing)."""
        text = json.dumps(data.model_dump(mode="json", exclude_none=True), separators=(",", ":"), ensure_ascii=False)
        return ToolOutput(data, provenance, text)

    def provenance(self, info: ProjectInfo, resource: str, guard: TextGuard | None = None) -> Provenance:
        return Provenance(
            resource=f"gitlab://{info.path}/{resource}".rstrip("/"),
            visibility=info.visibility,
            outsider_text=guard.outsider_text if guard is not None else False,
        )

    # -- outsider text ------------------------------------------------------------------------

    def lockdown(self) -> bool:
        return self.settings.lockdown or lockdown_requested()

    async def guard(self, info: ProjectInfo) -> TextGuard:
        """A text guard for results of `info`; reads the member list once per project (not for private ones)."""
        if info.visibility == "private":
            return TextGuard(None, self.lockdown())
        cached = self._members.get(info.id)
        if cached is None or cached[0] <= time.monotonic():
            from connectors.gitlab.client import get_page

            max_pages = self.settings.members_max_pages

            def fetch(gl: Gitlab) -> frozenset[str]:
                names: set[str] = set()
                query: dict[str, Any] | None = {"page": 1}
                pages = 0
                while query is not None and pages < max_pages:
                    items, query = get_page(gl, f"/projects/{info.id}/members/all", {"per_page": 100, **query})
                    names.update(str(m.get("username", "")).lower() for m in items)
                    pages += 1
                return frozenset(names)

            cached = (time.monotonic() + self.settings.cache_ttl_s, await self.call(fetch, what="project members"))
            self._members[info.id] = cached
        return TextGuard(cached[1], self.lockdown())


def listing_query(state: str, filters: dict[str, str], labels: Iterable[str], cursor: str | None) -> dict[str, Any]:
    """Query of an issue or MR listing: newest updates first, 20 a page, empty filters left out."""
    params: dict[str, Any] = {"state": state, "per_page": 20, "order_by": "updated_at"}
    params.update({key: value for key, value in filters.items() if value})
    if labels:
        params["labels"] = ",".join(labels)
    params.update(page_query(cursor))
    return params


def page_query(cursor: str | None) -> dict[str, Any]:
    """The upstream query stored in a listing cursor ({} for the first page)."""
    state = decode_cursor(cursor)
    query = state.get("q", {})
    if not isinstance(query, dict) or not all(isinstance(v, (str, int)) for v in query.values()):
        raise InvalidInput("invalid cursor: pass back the next_cursor value of the previous page unchanged")
    return query


def next_cursor(query: dict[str, str] | None) -> str | None:
    return encode_cursor({"q": query}) if query else None


def username(user: Any) -> str | None:
    return str(user.get("username")) if isinstance(user, dict) and user.get("username") else None
