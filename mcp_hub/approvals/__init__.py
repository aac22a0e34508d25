"""The approvals queue: writes held for a person, decided from the CLI or the web console.

A write that the hub's policy (`hub.approve_writes` globs) or the agent's flow guard / scanner holds
for a person becomes a pending `Approval` in the hub's shared state (in-process, Redis or PostgreSQL:
`hub.state_url`, see `stores`) instead of a refusal, when the caller opted into waiting. The holder
waits (polling with backoff) until a person decides or the approval expires (`hub.approval_timeout_s`,
default 1 h); approved, the write runs exactly once (by the holder); denied, expired or cancelled, it
does not run and the caller is told the note. Every submission and decision is an audit-log line
(`mcp_hub.audit`, with an `approval` key: id, asked_by, run_id, target, status, note).

The API (what the console and `mcp-hub approvals` call)::

    from mcp_hub.approvals import ApprovalQueue, ApprovalFilter, Page

    queue = server.approvals                             # inside the hub (HubServer): the queue its holds use
    queue = ApprovalQueue.from_config(config)            # elsewhere (a HubConfig); needs a shared hub.state_url
    page = await queue.list(ApprovalFilter(status="pending"), Page(number=1, size=50))
    page.items, page.total, page.has_next                # newest first
    approval = await queue.get(approval_id)              # None when unknown
    decision = await queue.decide(approval_id, approve=True, by="alice", note="ok", transport="console")
    decision.won                                         # False: someone (or the expiry) decided first;
    decision.approval.status                             #   decision.approval shows that decision

An `Approval` (record.py) holds what a reviewer needs, all REDACTED before it was stored:
`tool`, `arguments`; `target` (`github://acme/widgets`) and `target_visibility` (public / internal /
private / unknown); `evidence.kind` `file_change` (`evidence.diff`, a unified diff; `evidence.paths`)
or `comment` (`evidence.text`, raw text: render it escaped, never as HTML) or `call`; why it is held:
`reasons`, `rule` (the policy glob), `flow_reason` and `sources` (the private places the run read),
`scanner_findings`; who asked: `caller`, `transport`, `run_id`; `status` (pending / approved /
denied / expired / cancelled), `decided_by`, `note`, `decided_at`, `created_at`, `expires_at` (epoch
seconds). A denial needs a note. Decisions are atomic in every store: of an approve on one replica
and a deny on another, exactly one wins.

The holder's side: `await queue.submit(HoldRequest(...))` then `await queue.wait(id, progress=...)`
(`mcp_hub.approvals.hold` for the hub's tool calls, `model.approvals.Approver` for the agent).
"""

from mcp_hub.approvals.queue import (
    DEFAULT_TTL_S,
    ApprovalFilter,
    ApprovalPage,
    ApprovalQueue,
    Decision,
    HoldRequest,
    Page,
)
from mcp_hub.approvals.record import FINAL, STATUSES, Approval, Evidence, Status
from mcp_hub.approvals.stores import ApprovalStore, open_approvals

__all__ = [
    "DEFAULT_TTL_S",
    "FINAL",
    "STATUSES",
    "Approval",
    "ApprovalFilter",
    "ApprovalPage",
    "ApprovalQueue",
    "ApprovalStore",
    "Decision",
    "Evidence",
    "HoldRequest",
    "Page",
    "Status",
    "open_approvals",
]
