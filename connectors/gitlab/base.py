"""What every GitLab tool shares: the client, the one call path, project metadata, scope and outsider text.

Calls go through the kit's `Upstream` (budget, worker thread, retries, error
translation); the request guard sits on python-gitlab's `requests` session
(`client.make_client`). Results are labelled from the request the guard let
through (`sent`): its resource, and the visibility GitLab gave for its project.

Project metadata (id, path, visibility, default branch) is read once per
project and cached (`cache_ttl_s`) in the `ProjectDirectory` the guard's scope
reads: an id is only ever mapped to a path by GitLab's own answer. A project
outside the allow-list is refused before any request about it: by path at
once; by id unless the id is on the list or known (from an earlier answer) to
be an allowed project. On such a miss the allow-list's own ids (for a path) or
exact paths (for an id) are looked up once (allowed requests), so that either
spelling of an allowed project works.

Outsider text: GitLab has no "author association" field, so membership is
decided from the project's members (`/members/all`, inherited members
included), read once per project and cached. In a private project only members
(and administrators) can write at all, so no member list is fetched there and
nothing is an outsider; in internal and public projects every author who is not
a member is an outsider. When the member list is longer than
`members_max_pages` pages, authors not found in it count as outsiders (safe side).
What happens to outsiders' text is the kit's `OutsiderGate`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from connectors.gitlab.args import project_key, project_segment
from connectors.gitlab.errors import translate
from connectors.gitlab.scope import ProjectAllowList, ProjectDirectory, ProjectInfo, gitlab_scope, visibility_of
from connectors.gitlab.settings import GitlabSettings
from mcp_hub.calls import lockdown_requested
from mcp_hub.connector import Connector, ConnectorContext, ToolOutput
from mcp_hub.errors import HubError, InvalidInput, PolicyDenied
from mcp_hub.paging import decode_cursor, encode_cursor
from mcp_hub.provenance import Provenance, Visibility
from mcp_hub.state import RateBudget, credential_key
from mcp_hub.upstream import OutsiderGate, RequestGuard, Target, Upstream, journal

if TYPE_CHECKING:
    from gitlab import Gitlab

    from connectors.gitlab.client import LimitWatch

T = TypeVar("T")
D = TypeVar("D", bound=BaseModel)

#: Query keys of a `Link: rel=next` URL that resume a listing (offset and keyset pagination): all a cursor holds;
#: per_page too, as an offset page follows only at the same size.
CURSOR_KEYS = frozenset({"page", "per_page", "page_token", "id_after", "id_before", "cursor", "pagination"})
WITHHELD = "[withheld: written by someone outside the project; lockdown is on]"

__all__ = ["GitlabBase", "ProjectInfo", "TextGuard"]


class TextGuard:
    """Decides who is an outsider of one project (not a member); the kit's `OutsiderGate` does the rest."""

    def __init__(self, members: frozenset[str] | None, lockdown: bool) -> None:
        self._members = members
        self.gate = OutsiderGate(lockdown, withheld=WITHHELD)

    def is_outsider(self, author: str | None) -> bool:
        return self._members is not None and (author or "").lower() not in self._members

    def text(self, author: str | None, text: str | None) -> str:
        return self.gate.keep(text or "", outsider=self.is_outsider(author)) or ""

    @property
    def outsider_text(self) -> bool:
        return self.gate.outsider_seen


class GitlabBase(Connector[GitlabSettings]):
    """Shared plumbing of the tool mixins; `GitlabConnector` is the class the hub loads."""

    def __init__(self, instance: str, settings: GitlabSettings, context: ConnectorContext) -> None:
        super().__init__(instance, settings, context)
        self._client: Gitlab | None = None
        self._watch: LimitWatch | None = None
        token = settings.token.get_secret_value() if settings.token is not None else None
        #: This token's rate-limit state, shared with the hub's other replicas (mcp_hub.state).
        self.budget = RateBudget(context.state, credential_key("gitlab", settings.url, token))
        #: Projects as GitLab described them (id <-> path, visibility): what the guard judges ids by.
        self.directory = ProjectDirectory()
        self.allow = ProjectAllowList(settings, self.directory)
        #: The request guard on python-gitlab's session: this instance's base URL, endpoints and allow-list.
        self.request_guard = RequestGuard(gitlab_scope(settings, self.directory, self.allow))
        self.upstream = Upstream(
            "GitLab",
            settings,
            translate=translate,
            instance=instance,
            budget=self.budget,
            used_up=self._used_up,
            max_concurrency=settings.max_concurrency,
        )
        #: Until when the directory's entry of a key (id or lower-case path) counts as fresh.
        self._fresh: dict[str, float] = {}
        #: Which halves of the allow-list were read to judge keys (True: its exact paths, for ids; False: its ids).
        self._allow_list_read: set[bool] = set()
        self._members: dict[int, tuple[float, frozenset[str]]] = {}

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
            self._client = make_client(self.settings, self.request_guard, self._watch)
        return self._client

    async def call(self, fn: Callable[[Gitlab], T], *, what: str = "the resource", idempotent: bool = True) -> T:
        """`fn(client)` through the kit's call path (budget, worker thread, retries, translation)."""
        return await self.upstream.run(fn, self.gl(), what=what, idempotent=idempotent)

    async def sent(
        self, fn: Callable[[Gitlab], T], *, what: str = "the resource", idempotent: bool = True
    ) -> tuple[T, Target]:
        """`call`, and the guard's `Target` of the first request `fn` sent: what its result is labelled from."""

        def traced(gl: Gitlab) -> tuple[T, Target]:
            with journal() as requests:
                result = fn(gl)
            target = requests.first
            if target is None:  # never label (or return) what the guard did not see
                raise AssertionError("a GitLab request went out without passing the request guard")
            return result, target

        return await self.call(traced, what=what, idempotent=idempotent)

    def _used_up(self) -> tuple[float, str] | None:
        """Until when, and why, when GitLab's last answer said `RateLimit-Remaining: 0`."""
        from connectors.gitlab.errors import window_used_up

        if self._watch is None or self._watch.wait() <= 0:
            return None
        return self._watch.blocked_until, window_used_up(self._watch.blocked_until)

    # -- projects ------------------------------------------------------------------------------

    async def project(self, project: str) -> ProjectInfo:
        """Metadata of `project` (path or numeric id), cached; PolicyDenied outside the allow-list, nothing sent."""
        key = project_key(project)
        info = self.directory.get(key)
        if info is None or self._fresh.get(key, 0) <= time.monotonic():
            if not self.allow(key):
                await self._read_allow_list(key)
                if not self.allow(key):
                    raise PolicyDenied(self._outside(key))
            info = await self._lookup(key)
        if not self.allow.info_ok(info):
            raise PolicyDenied(self._outside(info.path))
        return info

    async def _lookup(self, key: str) -> ProjectInfo:
        from connectors.gitlab.client import get_json

        raw = await self.call(lambda gl: get_json(gl, f"/projects/{project_segment(key)}"), what=f"project {key}")
        info = ProjectInfo(
            id=int(raw["id"]),
            path=str(raw.get("path_with_namespace") or key),
            visibility=visibility_of(raw.get("visibility")),
            default_branch=raw.get("default_branch"),
        )
        self.directory.learn(info)
        expires = time.monotonic() + self.settings.cache_ttl_s
        for alias in (key, str(info.id), info.path.lower()):
            self._fresh[alias] = expires
        return info

    async def _read_allow_list(self, key: str) -> None:
        """Learn what could admit `key`, once: for a path the allow-list's ids, for an id its exact paths.

        Only allow-listed projects are looked up (allowed requests); one the token cannot see is skipped.
        """
        wanted = self.allow.exact_paths if key.isdigit() else tuple(sorted(self.allow.ids))
        if key.isdigit() in self._allow_list_read:
            return
        self._allow_list_read.add(key.isdigit())
        for entry in wanted:
            if self.directory.get(entry) is None:
                try:
                    await self._lookup(entry)
                except HubError:
                    continue

    @staticmethod
    def _outside(key: str) -> str:
        if key.isdigit():
            return (
                f"project id {key} is not on this hub's GitLab allow-list (projects setting), or not known to be an "
                "allowed project: pass its path (group/name)."
            )
        return f"project {key} is not on this hub's GitLab allow-list (projects setting)."

    @staticmethod
    def out(data: D, provenance: Provenance) -> ToolOutput[D]:
        """A result whose text leaves out null fields (they cost tokens and say nothing)."""
        text = json.dumps(data.model_dump(mode="json", exclude_none=True), separators=(",", ":"), ensure_ascii=False)
        return ToolOutput(data, provenance, text)

    def provenance(
        self, target: Target, guard: TextGuard | None = None, visibility: Visibility | None = None
    ) -> Provenance:
        """The label of a result of the request `target`: its resource, its project's visibility as GitLab gave it."""
        if visibility is None:
            info = self.directory.get(target.key) if target.key is not None else None
            visibility = info.visibility if info is not None else "private"
        return Provenance(
            resource=target.uri,
            visibility=visibility,
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


def listing_query(
    state: str, filters: dict[str, str], labels: Iterable[str], cursor: str | None, limit: int
) -> dict[str, Any]:
    """Query of an issue or MR listing: newest updates first, `limit` a page, empty filters left out."""
    params: dict[str, Any] = {"state": state, "per_page": limit, "order_by": "updated_at"}
    params.update({key: value for key, value in filters.items() if value})
    if labels:
        params["labels"] = ",".join(labels)
    params.update(page_query(cursor))
    return params


def page_query(cursor: str | None) -> dict[str, Any]:
    """The upstream query stored in a listing cursor ({} for the first page)."""
    state = decode_cursor(cursor)
    query = state.get("q", {})
    if not isinstance(query, dict) or not all(k in CURSOR_KEYS and isinstance(v, (str, int)) for k, v in query.items()):
        raise InvalidInput("invalid cursor: pass back the next_cursor value of the previous page unchanged")
    return query


def next_cursor(query: dict[str, str] | None) -> str | None:
    return encode_cursor({"q": query}) if query else None


def username(user: Any) -> str | None:
    return str(user.get("username")) if isinstance(user, dict) and user.get("username") else None
