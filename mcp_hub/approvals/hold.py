"""The hub's own holds: a write matching the caller's policy `hold` globs waits for a person before it runs.

The globs are `hub.approve_writes` for every caller, plus a token's or named policy's own
`approve_writes` (`Policy.held_by`).

`HubServer.call_tool` (the one path every MCP call of every transport crosses: stdio, SSE, Streamable
HTTP, in-process) asks `HubHolds.hold` after the policy admitted the call and before the tool runs.
The call becomes a pending approval; while it waits the client gets MCP progress notifications (when
it sent a progress token) and may cancel the request (the approval is then recorded `cancelled`).
Approved: `hold` returns None and the caller runs the tool, once. Denied, expired or cancelled: a
tool error naming who decided and the note, and the tool does not run.

Read-only tools are never held (a glob such as `github_*` must not stall reads).

The reviewer sees the target's visibility: from a probe read of the same connector (`PROBES`: one
branch of the repository, the read the agent's flow guard uses), run by the hub itself (not audited,
its result never reaches the caller) when the caller's policy may make that read; else `unknown`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp_types import CallToolResult, TextContent

from mcp_hub.approvals.queue import ApprovalQueue, HoldRequest
from mcp_hub.approvals.record import Approval
from mcp_hub.catalog import ERROR_META_KEY
from mcp_hub.policy import Caller, ToolFacts

#: connector -> (read tool, the argument naming the repository) whose provenance tells a target's visibility.
PROBES: dict[str, tuple[str, str]] = {
    "github": ("github_list_branches", "repo"),
    "gitlab": ("gitlab_list_branches", "project"),
}
#: (tool name, arguments) -> the provenance of that read's result ({} when it failed or is not allowed).
Probe = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass
class HubHolds:
    queue: ApprovalQueue

    async def hold(
        self,
        caller: Caller,
        tool: ToolFacts,
        arguments: dict[str, Any],
        context: Any,
        rule: str,
        probe: Probe | None = None,
    ) -> tuple[Approval, CallToolResult | None]:
        """Wait for a decision on this call: (the final approval, None to run it | the error to return)."""
        target = _target(tool, arguments)
        visibility = await _visibility(tool, arguments, probe) if target else None
        approval = await self.queue.submit(
            HoldRequest(
                caller=caller.name,
                transport=caller.transport,
                tool=tool.name,
                arguments=arguments,
                reasons=[f"policy: approve_writes holds {tool.name} for {caller.name} (rule {rule!r})"],
                target=target,
                target_visibility=visibility,
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


async def _visibility(tool: ToolFacts, arguments: dict[str, Any], probe: Probe | None) -> str | None:
    spec = PROBES.get(tool.connector)
    if probe is None or spec is None:
        return None
    name, key = spec
    place = arguments.get(key)
    if not isinstance(place, str | int) or not str(place):
        return None
    probe_args: dict[str, Any] = {key: place, "limit": 1}
    if "instance" in arguments:
        probe_args["instance"] = arguments["instance"]
    try:
        provenance = await probe(name, probe_args)
    except Exception:
        return None
    visibility = provenance.get("visibility")
    return visibility if isinstance(visibility, str) else None
