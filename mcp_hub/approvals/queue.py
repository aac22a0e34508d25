"""The approvals queue: submit a held write, wait for a person, decide; every decision audited."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from mcp_hub.approvals.record import FINAL, Approval, Status, evidence_of, new_id
from mcp_hub.approvals.stores import ApprovalStore, open_approvals
from mcp_hub.audit import AuditLog
from mcp_hub.errors import InvalidInput
from mcp_hub.redaction import Redactor

#: How long a held write waits for a person unless configured (`hub.approval_timeout_s`).
DEFAULT_TTL_S = 3600.0
MAX_PAGE = 200
#: Waiting polls the store: first after `POLL_FIRST_S`, growing by half up to `POLL_MAX_S`.
POLL_FIRST_S = 0.2
POLL_MAX_S = 2.0

Progress = Callable[[Approval, float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ApprovalFilter:
    """`status` None lists every status (an expired-but-unrecorded approval counts as `expired`)."""

    status: Status | None = None


@dataclass(frozen=True, slots=True)
class Page:
    number: int = 1
    size: int = 50

    @property
    def offset(self) -> int:
        return (max(self.number, 1) - 1) * self.size


@dataclass(slots=True)
class ApprovalPage:
    items: list[Approval]
    total: int
    page: Page

    @property
    def has_next(self) -> bool:
        return self.page.offset + len(self.items) < self.total


@dataclass(slots=True)
class Decision:
    """The outcome of `decide`: `won` is False when another decision (or the expiry) came first;
    `approval` is then the record with that earlier decision."""

    won: bool
    approval: Approval


@dataclass(slots=True)
class HoldRequest:
    """What a hold is about, as the holder knows it; arguments are redacted by the queue."""

    caller: str
    transport: str
    tool: str
    arguments: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    run_id: str | None = None
    target: str | None = None
    target_visibility: str | None = None
    rule: str | None = None
    flow_reason: str | None = None
    sources: list[str] = field(default_factory=list)
    scanner_findings: list[dict[str, Any]] = field(default_factory=list)


class ApprovalQueue:
    def __init__(
        self,
        store: ApprovalStore,
        *,
        audit: AuditLog | None = None,
        redactor: Redactor | None = None,
        ttl_s: float = DEFAULT_TTL_S,
    ) -> None:
        self.store = store
        self.redactor = redactor or Redactor()
        self.audit = audit or AuditLog(None, self.redactor)
        self.ttl_s = ttl_s
        #: A waiter's first poll and the longest gap between two (each gap grows by half).
        self.poll_s = POLL_FIRST_S
        self.poll_max_s = POLL_MAX_S

    @classmethod
    def from_config(
        cls, config: Any, *, audit: AuditLog | None = None, redactor: Redactor | None = None
    ) -> ApprovalQueue:
        """The queue on `config.hub.state_url` (a `HubConfig`), audited to `hub.audit_log`."""
        hub = config.hub
        redactor = redactor or Redactor([hub.state_url] if hub.state_url else [])
        return cls(
            open_approvals(hub.state_url, hub.state_prefix),
            audit=audit or AuditLog(hub.audit_log, redactor),
            redactor=redactor,
            ttl_s=hub.approval_timeout_s,
        )

    # -- the console's and the CLI's side --------------------------------------------------------

    async def list(self, filter: ApprovalFilter | None = None, page: Page | None = None) -> ApprovalPage:
        """Newest first; `page.size` at most `MAX_PAGE`."""
        filter = filter or ApprovalFilter()
        page = page or Page()
        page = Page(max(page.number, 1), min(max(page.size, 1), MAX_PAGE))
        items, total = await self.store.page(filter.status, page.size, page.offset)
        now = time.time()
        for item in items:
            item.status = item.effective_status(now)
        return ApprovalPage(items, total, page)

    async def get(self, approval_id: str) -> Approval | None:
        found = await self.store.get(approval_id)
        if found is not None:
            found.status = found.effective_status()
        return found

    async def decide(
        self, approval_id: str, approve: bool, by: str, note: str = "", *, transport: str = "cli"
    ) -> Decision:
        """Approve or deny a pending approval, once: a second decision (on any replica) does not change
        the first; it gets `won=False` and the first decision. Raises `InvalidInput` for an unknown id
        or a denial without a note (a denied agent tells its run why)."""
        by = by.strip()
        if not by:
            raise InvalidInput("say who decides (by)")
        if not approve and not note.strip():
            raise InvalidInput("a denial needs a note: the agent and the caller are told why")
        to: Status = "approved" if approve else "denied"
        now = time.time()
        after = await self.store.transition(approval_id, to, by, note, now)
        if after is None:
            raise InvalidInput(f"no approval with id {approval_id!r}")
        won = after.status == to and after.decided_at == now and after.decided_by == by
        if not won and after.status == "pending":  # past its expiry: record that instead
            after = await self._expire(after.id)
        self._audit(after, transport=transport, actor=by, outcome=to if won else f"{to}_too_late")
        after.status = after.effective_status()
        return Decision(won, after)

    # -- the holder's side (the agent, the hub) ----------------------------------------------------

    async def submit(self, request: HoldRequest) -> Approval:
        """Store a pending approval for `request` (arguments redacted here) and audit that it waits."""
        arguments = self.redactor.redact_value(request.arguments)
        assert isinstance(arguments, dict)
        now = time.time()
        approval = Approval(
            id=new_id(),
            created_at=now,
            expires_at=now + self.ttl_s,
            caller=request.caller,
            transport=request.transport,
            tool=request.tool,
            arguments=arguments,
            run_id=request.run_id,
            target=request.target,
            target_visibility=request.target_visibility or "unknown",
            reasons=[self.redactor.redact(r) for r in request.reasons],
            rule=request.rule,
            flow_reason=self.redactor.redact(request.flow_reason) if request.flow_reason else None,
            sources=list(request.sources),
            scanner_findings=list(request.scanner_findings),
            evidence=evidence_of(request.tool, arguments),
        )
        await self.store.put(approval)
        self._audit(approval, transport=request.transport, actor=request.caller, outcome="approval_pending")
        return approval

    async def wait(
        self, approval_id: str, *, progress: Progress | None = None, poll_s: float | None = None
    ) -> Approval:
        """Until the approval is decided or expires; returns the final record (never `pending`).

        Polls with backoff. At the expiry it records `expired` itself (atomically: a decision that
        came first wins). Cancelled (the caller went away), it records `cancelled` unless a decision
        came first, and re-raises.
        """
        waiter = "the waiting caller"
        try:
            delay = poll_s or self.poll_s
            while True:
                found = await self.store.get(approval_id)
                if found is None:
                    raise InvalidInput(f"approval {approval_id!r} is gone from the store")
                waiter = found.caller
                if found.status in FINAL:
                    return found
                now = time.time()
                if now >= found.expires_at:
                    return await self._expire(approval_id)
                if progress is not None:
                    await progress(found, now)
                await anyio.sleep(min(delay, max(found.expires_at - now, 0.01)))
                delay = min(delay * 1.5, max(self.poll_max_s, delay))
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self.cancel(approval_id, by=waiter)
            raise

    async def cancel(self, approval_id: str, by: str) -> Approval | None:
        now = time.time()
        after = await self.store.transition(approval_id, "cancelled", by, "the caller stopped waiting", now)
        if after is not None and after.status == "cancelled" and after.decided_at == now:
            self._audit(after, transport=after.transport, actor=by, outcome="approval_cancelled")
        return after

    async def _expire(self, approval_id: str) -> Approval:
        now = time.time()
        after = await self.store.transition(approval_id, "expired", None, "nobody decided in time", now)
        if after is None:
            raise InvalidInput(f"approval {approval_id!r} is gone from the store")
        if after.status == "expired" and after.decided_at == now:  # this call recorded it
            self._audit(after, transport=after.transport, actor=after.caller, outcome="approval_expired")
        return after

    def _audit(self, approval: Approval, *, transport: str, actor: str, outcome: str) -> None:
        self.audit.record(
            transport=transport,
            caller=actor,
            tool=approval.tool,
            arguments=approval.arguments,
            outcome=outcome,
            duration_ms=0.0,
            extra={
                "approval": {
                    "id": approval.id,
                    "asked_by": approval.caller,
                    "run_id": approval.run_id,
                    "target": approval.target,
                    "status": approval.status,
                    "note": approval.note,
                }
            },
        )

    async def aclose(self) -> None:
        await self.store.aclose()
