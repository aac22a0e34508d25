"""Asking the MCP client's user before `review_publish_review` posts (MCP elicitation).

The question comes after the review, so the user sees what would be posted; anything
but an explicit yes (decline, cancel, a client without elicitation, an unreadable
answer) stops the tool with nothing posted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, Field

from mcp_hub.errors import PolicyDenied
from model.review.findings import SEVERITIES
from model.review.report import ReviewReport

NOT_POSTED = "nothing was posted; review_pull_request shows the review without posting"


class PostApproval(BaseModel):
    post: bool = Field(description="Post this review on the pull/merge request")


def cannot_ask(ctx: Any) -> str | None:
    """Why the client of this tool call cannot be asked mid-call (None: it can).

    Asking mid-call needs a handshake-era session (protocol <= 2025-11-25), whose
    connection carries server-to-client requests; under 2026-07-28 a question rides
    an `InputRequiredResult` that the hub's tool wrapper does not produce yet.
    """
    if ctx is None:
        return "no MCP request context"
    capabilities = ctx.session.client_capabilities
    if capabilities is None or capabilities.elicitation is None:
        return "the client does not support MCP elicitation"
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return f"MCP protocol {ctx.protocol_version} asks through input-required results, not supported by the hub yet"
    return None


def question(url: str, report: ReviewReport) -> str:
    worst = report.worst()
    severity = f", worst {SEVERITIES[worst]}" if worst >= 0 else ""
    count = len(report.findings)
    return (
        f"Post the review of {url}? {count} finding{'s' if count != 1 else ''} on the diff{severity}; "
        "only findings not posted before are posted, as the hub's bot account."
    )


def asker(ctx: Any, url: str) -> Callable[[ReviewReport], Awaitable[None]]:
    """The `PostOptions.confirm` hook: asks through `ctx.elicit`, raises PolicyDenied unless the user says yes."""

    async def confirm(report: ReviewReport) -> None:
        try:
            answer = await ctx.elicit(question(url, report), PostApproval)
        except Exception as exc:  # the client refused the request or sent an answer outside the schema
            raise PolicyDenied(f"could not ask the user to approve posting ({exc}); {NOT_POSTED}") from None
        if answer.action != "accept":
            verb = "cancelled" if answer.action == "cancel" else "declined"
            raise PolicyDenied(f"the user {verb} posting the review; {NOT_POSTED}")
        if not answer.data.post:
            raise PolicyDenied(f"the user declined posting the review; {NOT_POSTED}")

    return confirm
