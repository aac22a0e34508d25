"""What the console needs of the approvals queue, and how one record is shown.

The queue itself (persistence in the hub's shared state, waiting, expiry, race-safe decisions, the
CLI) is `mcp_hub.approvals`; the console only calls its small API:

- `await queue.list(filter, page)` → records, newest first (`filter`: `{"status": "pending"}` …);
- `await queue.get(id)` → one record or None;
- `await queue.decide(id, approve, by, note)` → the decided record; raises `ApprovalConflict` when
  it was decided (or expired) already: exactly one decision wins, on any replica.

`InMemoryApprovals` is a stand-in with the same method names for a hub built without the queue
(and the console's own tests of rendering and CSRF); `view()` is the one place that reads a
record's fields, so the pages do not depend on its class.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol


class ApprovalConflict(Exception):
    """The approval was already decided or expired: nothing was changed."""


class ApprovalsQueue(Protocol):
    async def list(self, filter: dict[str, Any] | None = None, page: int = 0) -> list[Any]: ...

    async def get(self, approval_id: str) -> Any | None: ...

    async def decide(self, approval_id: str, approve: bool, by: str, note: str) -> Any: ...


@dataclass(frozen=True)
class Approval:
    id: str
    tool: str
    caller: str
    transport: str
    arguments: dict[str, Any]
    target: str
    visibility: str
    reasons: list[str]
    created: float
    expires: float
    diff: str = ""
    text: str = ""
    run_id: str = ""
    status: str = "pending"
    decided_by: str = ""
    note: str = ""
    decided_at: float = 0.0


@dataclass
class InMemoryApprovals:
    """One process's queue (no persistence): a stand-in with the real API's method names."""

    page_size: int = 50
    items: dict[str, Approval] = field(default_factory=dict)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def create(self, **fields: Any) -> Approval:
        now = time.time()
        fields.setdefault("created", now)
        fields.setdefault("expires", now + 3600)
        approval = Approval(id=secrets.token_urlsafe(16), **fields)
        self.items[approval.id] = approval
        return approval

    async def list(self, filter: dict[str, Any] | None = None, page: int = 0) -> list[Approval]:
        wanted = (filter or {}).get("status")
        rows = [self._current(a) for a in self.items.values()]
        rows = [a for a in rows if not wanted or a.status == wanted]
        rows.sort(key=lambda a: a.created, reverse=True)
        return rows[page * self.page_size : (page + 1) * self.page_size]

    async def get(self, approval_id: str) -> Approval | None:
        found = self.items.get(approval_id)
        return self._current(found) if found is not None else None

    async def decide(self, approval_id: str, approve: bool, by: str, note: str) -> Approval:
        found = await self.get(approval_id)
        if found is None:
            raise KeyError(approval_id)
        if found.status != "pending":
            raise ApprovalConflict(f"approval {approval_id} is {found.status} already")
        status = "approved" if approve else "denied"
        decided = replace(found, status=status, decided_by=by, note=note, decided_at=time.time())
        self.items[approval_id] = decided
        self._changed.set()
        self._changed = asyncio.Event()
        return decided

    async def wait(self, approval_id: str, timeout_s: float = 60) -> Approval:
        """Until the approval is decided or expired (for a waiting caller)."""
        deadline = time.monotonic() + timeout_s
        while True:
            current = await self.get(approval_id)
            if current is None or current.status != "pending" or time.monotonic() > deadline:
                assert current is not None
                return current
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), timeout=min(1.0, max(0.01, deadline - time.monotonic())))
            except TimeoutError:
                pass

    @staticmethod
    def _current(approval: Approval) -> Approval:
        if approval.status == "pending" and approval.expires <= time.time():
            return replace(approval, status="expired")
        return approval


def _get(record: Any, *names: str, default: Any = "") -> Any:
    for name in names:
        value = record.get(name) if isinstance(record, dict) else getattr(record, name, None)
        if value not in (None, ""):
            return value
    return default


def _when(value: Any) -> str:
    if isinstance(value, (int, float)) and value > 0:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value))
    return str(value or "")


def view(record: Any) -> dict[str, Any]:
    """A record's fields for the templates (every one rendered as text: autoescaped, never markup)."""
    reasons = _get(record, "reasons", "why", default=[])
    if isinstance(reasons, str):
        reasons = [reasons]
    return {
        "id": str(_get(record, "id")),
        "tool": str(_get(record, "tool")),
        "caller": str(_get(record, "caller")),
        "transport": str(_get(record, "transport")),
        "run_id": str(_get(record, "run_id")),
        "arguments": _get(record, "arguments", default={}),
        "target": str(_get(record, "target")),
        "visibility": str(_get(record, "visibility", default="unknown")),
        "reasons": [str(r) for r in reasons],
        "diff": str(_get(record, "diff")),
        "text": str(_get(record, "text", "comment")),
        "status": str(_get(record, "status", default="pending")),
        "decided_by": str(_get(record, "decided_by")),
        "note": str(_get(record, "note")),
        "created": _when(_get(record, "created", default=0)),
        "expires": _when(_get(record, "expires", default=0)),
        "decided_at": _when(_get(record, "decided_at", default=0)),
    }
