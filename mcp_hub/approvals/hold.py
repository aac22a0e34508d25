"""The hub's own holds: a tool call matching `hub.approve_writes` waits for a person before it runs.

`HubServer.call_tool` (the one path every MCP call of every transport crosses: stdio, SSE, Streamable
HTTP, in-process) asks `HubHolds.hold` after the policy admitted the call and before the tool runs.
The call becomes a pending approval; while it waits the client gets MCP progress notifications (when
it sent a progress token) and may cancel the request (the approval is then recorded `cancelled`).
Approved: `hold` returns None and the caller runs the tool, once. Denied, expired or cancelled: a
tool error naming who decided and the note, and the tool does not run.

Read-only tools are never held (a glob such as `github_*` must not stall reads).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from mcp_types import CallToolResult, TextContent

from mcp_hub.approvals.queue import ApprovalQueue, HoldRequest
from mcp_hub.approvals.record import Approval
from mcp_hub.catalog import ERROR_META_KEY
from mcp_hub.policy import Caller, ToolFacts


@dataclass
class HubHolds:
    queue: ApprovalQueue
    globs: tuple[str, ...]

    def rule_for(self, tool: ToolFacts) -> str | None:
        """The glob that holds `tool`, or None (read-only tools: always None)."""
        if tool.read_only:
            return None
        return next((glob for glob in self.globs if fnmatchcase(tool.name, glob)), None)

    async def hold(
        self, caller: Caller, tool: ToolFacts, arguments: dict[str, Any], context: Any, rule: str
    ) -> tuple[Approval, CallToolResult | None]:
        """Wait for a decision on this call: (the final approval, None to run it | the error to return)."""
        approval = await self.queue.submit(
            HoldRequest(
                caller=caller.name,
                transport=caller.transport,
                tool=tool.name,
                arguments=arguments,
                reasons=[f"policy: hub.approve_writes holds {tool.name} (rule {rule!r})"],
                target=_target(tool, arguments),
                rule=rule,
            )
        )
        started = time.time()

        async def progress(pending: Approval, now: float) -> None:
            if context is None:
                return
            total = pending.expires_at - started
            await context.report_progress(
                now - started,
                total,
                f"waiting for approval {pending.id} (mcp-hub approvals approve {pending.id})",
            )

        final = await self.queue.wait(approval.id, progress=progress)
        if final.status == "approved":
            return final, None
        return final, refusal(final)


def refusal(approval: Approval) -> CallToolResult:
    if approval.status == "denied":
        text = f"Not approved: {approval.decided_by} denied this {approval.tool} call (approval {approval.id})"
    else:
        text = f"Not approved: approval {approval.id} for this {approval.tool} call {approval.status}"
    if approval.note:
        text += f": {approval.note}"
    text += ". It was not done; do not retry it unless asked to."
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        is_error=True,
        _meta={ERROR_META_KEY: f"approval_{approval.status}"},
    )


def _target(tool: ToolFacts, arguments: dict[str, Any]) -> str | None:
    for key in ("repo", "project", "project_id", "channel", "channel_id", "file_id", "folder_id"):
        value = arguments.get(key)
        if isinstance(value, str | int) and str(value):
            return f"{tool.connector}://{str(value).strip('/')}"
    return None
