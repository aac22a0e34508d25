"""The console's side of the approvals queue (`mcp_hub.approvals`), and how one record is shown.

The queue (persistence in the hub's shared state, waiting, expiry, race-safe decisions, the CLI) is
`mcp_hub.approvals.ApprovalQueue`: the hub's own (`server.approvals`, on `hub.state_url`: the same
store its holds and unattended agents submit to). `view()` is the one place
that reads a record's fields for the templates; every value is rendered as text (autoescaped).
"""

from __future__ import annotations

import time
from typing import Any

from mcp_hub.approvals import ApprovalQueue


def queue_for(server: Any, config: Any) -> ApprovalQueue:
    """The hub's queue (`HubServer.approvals`, on `hub.state_url`: the one its holds and agents use)."""
    queue = getattr(server, "approvals", None)
    if isinstance(queue, ApprovalQueue):
        return queue
    return ApprovalQueue.from_config(config, audit=server.audit, redactor=server.redactor)


def _when(value: Any) -> str:
    if isinstance(value, (int, float)) and value > 0:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value))
    return ""


def view(record: Any) -> dict[str, Any]:
    """An `Approval`'s fields for the templates."""
    evidence = record.evidence
    reasons = list(record.reasons)
    if record.flow_reason and not any(record.flow_reason in str(r) for r in reasons):
        reasons.append(f"flow guard: {record.flow_reason}")
    reasons += [f"read private source: {s}" for s in record.sources if not any(s in str(r) for r in reasons)]
    reasons += [f"scanner: {f.get('message') or f}" for f in record.scanner_findings]
    return {
        "id": record.id,
        "tool": record.tool,
        "caller": record.caller,
        "transport": record.transport,
        "run_id": record.run_id or "",
        "arguments": record.arguments,
        "target": record.target or "",
        "visibility": record.target_visibility or "unknown",
        "reasons": [str(r) for r in reasons],
        "diff": evidence.diff or "",
        "text": evidence.text or "",
        "paths": list(evidence.paths),
        "status": record.status,
        "decided_by": record.decided_by or "",
        "note": record.note or "",
        "created": _when(record.created_at),
        "expires": _when(record.expires_at),
        "decided_at": _when(record.decided_at),
    }
