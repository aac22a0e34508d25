"""What the request guard let through, per tool call and per upstream call.

The hub opens a journal around every tool call (`mcp_hub.catalog`); a
connector opens a nested one around each upstream call (the GitHub client does
in `_send`) to read the `Target` of exactly that request. The guard's transport
hook appends every allowed request to the innermost journal and its parents.
Journals live in a context variable, which anyio copies into worker threads,
so the hook sees the journal of the call it serves; appends are locked because
several worker threads may serve one tool call.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from contextvars import ContextVar

from mcp_hub.upstream.scope import Target

_CURRENT: ContextVar[Journal | None] = ContextVar("mcp_hub_upstream_journal", default=None)


class Journal:
    def __init__(self, parent: Journal | None = None, *, follow_redirects: bool = False) -> None:
        self.parent = parent
        #: Whether a redirect answered to a request of this journal may be followed (to `Scope.redirect_hosts`).
        self.follow_redirects = follow_redirects
        self._targets: list[Target] = []
        self._lock = threading.Lock()

    def record(self, target: Target) -> None:
        journal: Journal | None = self
        while journal is not None:
            with journal._lock:
                journal._targets.append(target)
            journal = journal.parent

    @property
    def targets(self) -> list[Target]:
        with self._lock:
            return list(self._targets)

    @property
    def empty(self) -> bool:
        with self._lock:
            return not self._targets

    @property
    def first(self) -> Target | None:
        with self._lock:
            return self._targets[0] if self._targets else None

    @property
    def last(self) -> Target | None:
        with self._lock:
            return self._targets[-1] if self._targets else None

    @property
    def answered(self) -> Target | None:
        """The request whose answer the caller got: the last one that was not a followed download redirect.

        An API redirect (a renamed repository's 301) is checked like any request, and the data comes from
        where it led, so that is what the result is labelled with; a download redirect (`redirected`)
        inherits its origin's key and resource.
        """
        with self._lock:
            direct = [t for t in self._targets if not t.redirected]
            return direct[-1] if direct else None


def current_journal() -> Journal | None:
    return _CURRENT.get()


class _Opened:
    """`journal()`'s context manager: a class, not a generator (it runs around every tool call)."""

    __slots__ = ("_follow_redirects", "_root", "_token")

    def __init__(self, follow_redirects: bool, root: bool) -> None:
        self._follow_redirects = follow_redirects
        self._root = root

    def __enter__(self) -> Journal:
        opened = Journal(None if self._root else _CURRENT.get(), follow_redirects=self._follow_redirects)
        self._token = _CURRENT.set(opened)
        return opened

    def __exit__(self, *exc_info: object) -> None:
        _CURRENT.reset(self._token)


def journal(*, follow_redirects: bool = False, root: bool = False) -> AbstractContextManager[Journal]:
    """A journal nested in the current one (if any), current until the block ends.

    `root=True` starts a fresh one: the hub opens a root journal per tool call, so a workflow tool that
    calls other tools through an inner MCP client is not charged with their requests (each inner call
    is checked against its own).
    """
    return _Opened(follow_redirects, root)


def provenance_mismatch(resource: str, sent: Journal) -> str | None:
    """Why a result labelled `resource` disagrees with the requests the guard let through, or None.

    With no guarded request (a connector not on the kit yet, an answer from a cache) there is nothing
    to compare. Otherwise the label must be the resource of one request that was actually sent.
    """
    if sent.empty:
        return None
    uris = {target.uri for target in sent.targets}
    if not uris or resource in uris:
        return None
    return f"result labelled {resource} but the requests sent addressed {', '.join(sorted(uris))[:500]}"
