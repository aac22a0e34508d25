"""What one GitLab instance may ask for: the request guard's scope (see `mcp_hub.upstream`).

GitLab addresses a project by numeric id or by its full path as ONE encoded
segment (`/projects/group%2Fsub%2Fname`), and a file by its path as one
segment (`repository/files/src%2Fa.py`): the scope sets `encoded_slashes`, so
the guard checks every piece between encoded slashes (no `.`/`..`, empty piece,
backslash, control character, `?` or `#`, in any decoding).

The allow-list (`projects` setting) names paths (globs) and ids. A request by
id can only be judged when the hub knows which project the id is: the
`ProjectDirectory` maps ids to paths and visibility, learned only from GitLab's
own answers to requests the guard let through (a lookup by an allowed path or
id, a project listing). An id that is neither on the allow-list nor known to
belong to an allowed project is refused before anything is sent, so a project
outside the list costs no request.

Routes are an allow-list of the endpoints the tools use, with their methods;
queries that carry refs or paths (`ref`, `ref_name`, `from`, `to`, `path`) are
refused with `.`/`..` pieces, `%`, backslashes or control characters. A
result's resource is `<project path><endpoint>` with `/repository` dropped
(`acme/app/issues/3`, `acme/app/files/src/a.py`), from the request actually sent.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import unquote

from connectors.gitlab.settings import GitlabSettings
from mcp_hub.provenance import Visibility
from mcp_hub.upstream import Route, Scope

#: The endpoints under `/projects/:id` that the tools use, and their methods.
PROJECT_ENDPOINTS: tuple[tuple[str, str, frozenset[str]], ...] = tuple(
    (name, pattern, frozenset(methods.split()))
    for name, pattern, methods in (
        ("project", r"", "GET"),
        ("members", r"/members/all(?:/\d+)?", "GET"),
        ("file", r"/repository/files/[^/]+", "GET"),
        ("tree", r"/repository/tree", "GET"),
        ("branches", r"/repository/branches", "GET POST"),
        ("commits", r"/repository/commits", "GET POST"),
        ("commit", r"/repository/commits/[^/]+(?:/diff)?", "GET"),
        ("compare", r"/repository/compare", "GET"),
        ("search", r"/search", "GET"),
        ("labels", r"/labels", "GET"),
        ("issues", r"/issues", "GET POST"),
        ("issue", r"/issues/\d+", "GET PUT"),
        ("issue notes", r"/issues/\d+/notes", "GET POST"),
        ("merge requests", r"/merge_requests", "GET POST"),
        ("merge request", r"/merge_requests/\d+(?:/approvals|/diffs)?", "GET"),
        ("discussions", r"/merge_requests/\d+/discussions", "GET POST"),
        ("discussion", r"/merge_requests/\d+/discussions/[^/]+", "PUT"),
        ("discussion notes", r"/merge_requests/\d+/discussions/[^/]+/notes", "POST"),
        ("note", r"/merge_requests/\d+/notes/\d+", "PUT"),
        ("drafts", r"/merge_requests/\d+/draft_notes(?:/bulk_publish)?", "POST"),
        ("draft", r"/merge_requests/\d+/draft_notes/\d+", "DELETE"),
        ("merge", r"/merge_requests/\d+/merge", "PUT"),
        ("pipelines", r"/pipelines", "GET"),
        ("jobs", r"/pipelines/\d+/jobs", "GET"),
        ("retry", r"/pipelines/\d+/retry", "POST"),
        ("job", r"/jobs/\d+(?:/trace)?", "GET"),
    )
)
#: Query keys that carry a ref or a path inside the repository.
_PATH_QUERY_KEYS = ("ref", "ref_name", "from", "to", "path")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    id: int
    path: str
    visibility: Visibility
    default_branch: str | None


def visibility_of(value: object) -> Visibility:
    """GitLab's visibility field; anything unexpected counts as private (the safe side)."""
    if value == "public":
        return "public"
    if value == "internal":
        return "internal"
    return "private"


class ProjectDirectory:
    """Projects by id and by path (lower case), as GitLab described them; shared by worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, ProjectInfo] = {}

    def learn(self, info: ProjectInfo) -> None:
        with self._lock:
            self._by_key[str(info.id)] = info
            self._by_key[info.path.lower()] = info

    def get(self, key: str) -> ProjectInfo | None:
        with self._lock:
            return self._by_key.get(key.strip().lower())


class ProjectAllowList:
    """The `projects` setting as a predicate on scope keys (a path or an id), through the directory."""

    def __init__(self, settings: GitlabSettings, directory: ProjectDirectory) -> None:
        self.everything = not settings.projects
        self.ids = frozenset(p for p in settings.projects if p.isdigit())
        self.globs = tuple(p.lower() for p in settings.projects if not p.isdigit())
        #: Allow-list entries that name exactly one project: they can be looked up to learn their ids.
        self.exact_paths = tuple(g for g in self.globs if not any(c in g for c in "*?["))
        self.directory = directory

    def path_ok(self, path: str) -> bool:
        path = path.lower()
        return any(fnmatchcase(path, glob) for glob in self.globs)

    def info_ok(self, info: ProjectInfo) -> bool:
        return self.everything or str(info.id) in self.ids or self.path_ok(info.path)

    def __call__(self, key: str) -> bool:
        if self.everything:
            return True
        if key.isdigit() and key in self.ids:
            return True
        if not key.isdigit() and self.path_ok(key):
            return True
        info = self.directory.get(key)
        return info is not None and self.info_ok(info)


def _repo_values(query: Mapping[str, list[str]]) -> str | None:
    for key in _PATH_QUERY_KEYS:
        for value in query.get(key, []):
            if value == "" and key == "path":
                continue  # the repository's root
            if _CONTROL.search(value) or "\\" in value or "%" in value:
                return f"its {key} has a control character, a backslash or a '%'"
            if any(piece in ("", ".", "..") for piece in value.split("/")) or ".." in value:
                return f"its {key} has an empty, '.' or '..' part"
    return None


def gitlab_scope(settings: GitlabSettings, directory: ProjectDirectory, allows: Callable[[str], bool]) -> Scope:
    def resource(match: re.Match[str]) -> str:
        key = unquote(match.group("key"))
        info = directory.get(key)
        rest = unquote(match.group("rest")).removeprefix("/repository")
        return f"{info.path if info is not None else key}{rest}"

    project_routes = tuple(
        Route(
            name,
            rf"/projects/(?P<key>[^/]+)(?P<rest>{pattern})",
            methods=methods,
            query=_repo_values,
            resource=resource,
        )
        for name, pattern, methods in PROJECT_ENDPOINTS
    )
    return Scope(
        service="gitlab",
        base_url=settings.url.rstrip("/") + "/api/v4",
        routes=(Route("user", r"/user"), Route("users", r"/users"), Route("projects", r"/projects"), *project_routes),
        allows=allows,
        encoded_slashes=True,
        allow_list_name="this instance's projects (gitlab projects setting)",
    )
