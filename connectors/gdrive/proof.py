"""Whether a file id is under one of the instance's allowed folders or shared drives.

A Drive URL names a file by id only, so the request guard cannot see where the
file lives. With a `folders` allow-list, the guard's scope asks `FolderProof`:
the file's `parents` and `driveId`, as Drive answers them to a metadata lookup
(`GET files/<id>?fields=id,parents,driveId`, itself checked by its own guard
and sent on the same thread's authorised connection), are walked up until an
allowed folder or shared drive is reached. Anything else (no parents, a file
or parent Drive does not show, a walk longer than `MAX_DEPTH` lookups) is
*not* proven and the request is refused: fail closed.

Answers are cached per id for `ttl_s` seconds (a moved file is re-checked
soon), at most `capacity` entries; the cache is locked (worker threads share it).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

#: `id -> (parents, driveId)` as Drive answered, or None when Drive does not show the file.
Fetch = Callable[[str], tuple[Sequence[str], str | None] | None]

MAX_DEPTH = 24


class FolderProof:
    def __init__(self, folders: Iterable[str], *, ttl_s: float = 60.0, capacity: int = 4096) -> None:
        self.folders = frozenset(folders)
        self.ttl_s = ttl_s
        self.capacity = capacity
        self._lock = threading.Lock()
        self._known: OrderedDict[str, tuple[float, bool]] = OrderedDict()
        #: Metadata lookups sent (for tests and diagnostics).
        self.lookups = 0

    @property
    def active(self) -> bool:
        return bool(self.folders)

    def cached(self, file_id: str) -> bool | None:
        with self._lock:
            found = self._known.get(file_id)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._known[file_id]
                return None
            self._known.move_to_end(file_id)
            return found[1]

    def _remember(self, file_id: str, allowed: bool) -> bool:
        with self._lock:
            self._known[file_id] = (time.monotonic() + self.ttl_s, allowed)
            self._known.move_to_end(file_id)
            while len(self._known) > self.capacity:
                self._known.popitem(last=False)
        return allowed

    def admits(self, file_id: str, fetch: Fetch) -> bool:
        """Whether `file_id` is an allowed folder/drive or lies under one (looked up with `fetch`)."""
        if not self.folders or file_id in self.folders:
            return True
        return self._walk(file_id, None, fetch)

    def admits_listed(self, file_id: str, parents: Sequence[str], drive_id: str | None, fetch: Fetch) -> bool:
        """Like `admits`, starting from the parents a listing returned for the file."""
        if not self.folders or file_id in self.folders:
            return True
        return self._walk(file_id, (parents, drive_id), fetch)

    def _walk(self, file_id: str, first: tuple[Sequence[str], str | None] | None, fetch: Fetch) -> bool:
        known = self.cached(file_id)
        if known is not None:
            return known
        budget = [MAX_DEPTH]
        return self._remember(file_id, self._up(file_id, first, fetch, budget, set()))

    def _up(
        self,
        file_id: str,
        answer: tuple[Sequence[str], str | None] | None,
        fetch: Fetch,
        budget: list[int],
        seen: set[str],
    ) -> bool:
        if file_id in seen:
            return False
        seen.add(file_id)
        if answer is None:
            if budget[0] <= 0:
                return False
            budget[0] -= 1
            with self._lock:
                self.lookups += 1
            answer = fetch(file_id)
            if answer is None:
                return False
        parents, drive_id = answer
        if drive_id is not None and drive_id in self.folders:
            return True
        for parent in parents:
            if parent in self.folders:
                return True
        for parent in parents:
            known = self.cached(parent)
            if known is None:
                known = self._remember(parent, self._up(parent, None, fetch, budget, seen))
            if known:
                return True
        return False
