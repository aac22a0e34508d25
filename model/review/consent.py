"""Asking the MCP client's user before `review_publish_review` posts (MCP elicitation).

The question comes after the review, so the user sees what would be posted; anything
but an explicit yes (decline, cancel, a client without elicitation, an unreadable
answer) stops the tool with nothing posted. Handshake-era sessions (<= 2025-11-25) are
asked mid-call (`ctx.elicit`); 2026-07-28 clients through an `InputRequiredResult`
whose sealed `request_state` carries the finished review (`snapshot`), answered by the
client's retry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp_types import ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult
from pydantic import BaseModel, Field

from mcp_hub.errors import PolicyDenied
from model.review.findings import SEVERITIES
from model.review.report import ReviewReport

NOT_POSTED = "nothing was posted; review_pull_request shows the review without posting"


class PostApproval(BaseModel):
    post: bool = Field(description="Post this review on the pull/merge request")


#: The key of the one question in an `InputRequiredResult`.
APPROVAL_KEY = "approve_posting"


def cannot_ask(ctx: Any) -> str | None:
    """Why the client of this tool call cannot be asked (None: it can)."""
    if ctx is None:
        return "no MCP request context"
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return "the client does not support MCP form elicitation"
    return None


def approval_request(url: str, report: ReviewReport, state: str) -> InputRequiredResult:
    """The question as a 2026-07-28 client gets it; `state` comes back with the answer."""
    from mcp.server.elicitation import render_elicitation_schema

    ask = ElicitRequest(
        params=ElicitRequestFormParams(
            message=question(url, report), requested_schema=render_elicitation_schema(PostApproval)
        )
    )
    return InputRequiredResult(input_requests={APPROVAL_KEY: ask}, request_state=state)


def require_yes(responses: Any) -> None:
    """Raise PolicyDenied unless the client's retry carries an explicit yes."""
    answer = (responses or {}).get(APPROVAL_KEY)
    if not isinstance(answer, ElicitResult):
        raise PolicyDenied(f"the client retried without an answer to the approval question; {NOT_POSTED}")
    _check(answer.action, answer.content)


def _check(action: str, content: Any) -> None:
    if action != "accept":
        verb = "cancelled" if action == "cancel" else "declined"
        raise PolicyDenied(f"the user {verb} posting the review; {NOT_POSTED}")
    try:
        approved = PostApproval.model_validate(content or {}).post
    except ValueError:
        raise PolicyDenied(f"the approval answer was not a yes/no; {NOT_POSTED}") from None
    if not approved:
        raise PolicyDenied(f"the user declined posting the review; {NOT_POSTED}")


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
        _check(answer.action, answer.data.model_dump() if answer.action == "accept" else None)

    return confirm
