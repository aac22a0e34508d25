"""The checks between the model's decision to write and the write: flow guard, scanner, approval.

Every write decision is appended to the verdict log (JSON lines), next to the
hub's audit log by default: the hub's log says what was called, this one why a
write was allowed, approved, denied or blocked.
"""

from __future__ import annotations

import json
import re
import secrets
import stat
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio

from mcp_hub.redaction import Redactor
from model.approvals import ApprovalRequest, Approver, AskFn, Waiting
from model.guard import FlowGuard, Probe
from model.scanner import Verdict, scan_write
from model.toolcalls import ToolInfo

Status = Literal["allowed", "approved", "denied", "blocked"]


@dataclass
class GateDecision:
    status: Status
    reasons: list[str] = field(default_factory=list)
    how: str = ""
    verdict: Verdict | None = None

    @property
    def allowed(self) -> bool:
        return self.status in ("allowed", "approved")

    def message(self) -> str:
        """What the model is told when the call does not happen."""
        why = "; ".join(self.reasons) or "not approved"
        if self.status == "blocked":
            return f"Blocked by the agent's code scanner: {why}. Do not retry this write."
        return f"Not approved ({self.how}): {why}. Do not retry this write; report it in your answer instead."


#: The process's own streams, by name (they need not exist where this runs: a manifest is checked too).
STREAM_NAMES = re.compile(r"^/dev/(stdout|stderr|null)$|^/dev/fd/\d+$|^/proc/(self|thread-self)/fd/\d+$")


def is_stream(path: Path) -> bool:
    """A stream or device rather than a file a name can be derived beside: one of STREAM_NAMES, or an
    existing FIFO, socket or character device (`/dev/tty`, a named pipe)."""
    if STREAM_NAMES.match(str(path)):
        return True
    try:
        mode = path.stat().st_mode
    except OSError:  # not there yet: a file to be created
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


class VerdictLog:
    def __init__(self, path: Path | None, redactor: Redactor | None = None) -> None:
        self.path = path
        self.redactor = redactor or Redactor()
        self._lock = threading.Lock()

    @staticmethod
    def beside(audit_log: Path | None) -> Path | None:
        """`audit.jsonl` -> `audit.agent.jsonl`; a stream (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`,
        `/proc/self/fd/N`, or any existing path that is not a regular file: a FIFO, a character device)
        -> the same stream.

        A name derived beside a device would be a new file in `/dev` (`/dev/stdout.agent.jsonl`), which a
        container's read-only root refuses and which, writable, would collect the lines where nobody reads
        them. Sharing the stream keeps the verdicts where the audit lines go; a verdict line is told from
        an audit line by its `run` and `decision` keys (an audit line has `transport` and `caller`)."""
        if audit_log is None:
            return None
        if is_stream(audit_log):
            return audit_log
        return audit_log.with_name(audit_log.stem + ".agent" + (audit_log.suffix or ".jsonl"))

    def record(
        self, run: str, tool: str, arguments: dict[str, Any], decision: GateDecision, target: str | None
    ) -> None:
        if self.path is None:
            return
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "run": run,
            "tool": tool,
            "target": target,
            "decision": decision.status,
            "how": decision.how,
            "reasons": decision.reasons,
            "scanner": decision.verdict.to_json() if decision.verdict else None,
            "argument_keys": sorted(arguments),
        }
        line = json.dumps(self.redactor.redact_value(entry), ensure_ascii=False, default=str) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)


class Gate:
    def __init__(self, approver: Approver, guard: FlowGuard, log: VerdictLog, *, run: str, scan: bool = True) -> None:
        self.approver = approver
        self.guard = guard
        self.log = log
        self.run = run
        self.scan = scan

    async def check(self, tool: ToolInfo, arguments: dict[str, Any], probe: Probe | None) -> GateDecision:
        if tool.read_only:
            return GateDecision("allowed", how="read-only")
        reasons: list[str] = []
        needs_person = False
        flow = await self.guard.check_write(tool.name, arguments, probe)
        if flow.needs_approval:
            reasons.append(f"flow guard: {flow.reason}")
            needs_person = True
        verdict: Verdict | None = None
        findings: list[dict[str, Any]] = []
        if self.scan:
            verdict = await anyio.to_thread.run_sync(scan_write, arguments)
            if verdict.action == "block":
                decision = GateDecision("blocked", [*reasons, f"scanner: {verdict.summary()}"], "scanner", verdict)
                self.log.record(self.run, tool.name, arguments, decision, flow.target)
                return decision
            if verdict.action == "review":
                reasons.append(f"scanner: {verdict.summary()}")
                needs_person = True
                findings = list(verdict.to_json()["findings"])
        if not reasons:
            reasons.append("write tool")
        request = ApprovalRequest(
            tool.name,
            arguments,
            reasons,
            needs_person,
            run=self.run,
            target=flow.target or self.guard.target_of(tool.name, arguments),
            visibility=flow.visibility,
            flow_reason=flow.reason or None,
            sources=tuple(self.guard.tainted_by),
            findings=tuple(findings),
        )
        approved, how = await self.approver.decide(request)
        if how == "queue-unreachable":
            reasons = [*reasons, f"the approvals queue could not be reached: {self.approver.unreachable}"]
        elif how.startswith("queue-") and self.approver.decided:
            final = self.approver.decided[-1]
            said = f"{final.status} in the approvals queue" + (f" by {final.decided_by}" if final.decided_by else "")
            reasons = [*reasons, said + (f": {final.note}" if final.note else "")]
        decision = GateDecision("approved" if approved else "denied", reasons, how, verdict)
        self.log.record(self.run, tool.name, arguments, decision, flow.target)
        return decision


def new_gate(
    globs: Iterable[str] = (),
    ask: AskFn | None = None,
    guard: FlowGuard | None = None,
    verdict_log: Path | None = None,
    waiting: Waiting | None = None,
) -> Gate:
    """The gate of one run: `globs` approve routine writes, `ask` reaches a person (None: denied), a fresh
    flow guard unless the run's own (one that already watched its reads), decisions to `verdict_log`.
    With `waiting` (the app's queue), a write that needs a person waits in the approvals queue instead."""
    approver = Approver(globs=tuple(globs), ask=ask)
    if waiting is not None:
        approver.queue, approver.caller, approver.transport = waiting.queue, waiting.caller, waiting.transport
    return Gate(approver, guard or FlowGuard(), VerdictLog(verdict_log), run=new_run_id())


def new_run_id() -> str:
    """The id that ties one run's write decisions together in the verdict log."""
    return secrets.token_hex(6)
