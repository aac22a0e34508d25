"""Who the current request comes from, readable anywhere below the server.

The server sets the caller for each MCP request; connectors read it with
`current_caller()` (e.g. to honour a caller's lockdown request) without
importing the server.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from mcp_hub.policy import Caller

_CALLER: ContextVar[Caller | None] = ContextVar("mcp_hub_caller", default=None)
#: The MCP request context (`mcp.server.mcpserver.Context`) of the tool call being served.
_CONTEXT: ContextVar[Any] = ContextVar("mcp_hub_context", default=None)
#: Who in-process requests come from while `HubServer.client_as(caller)` is open (a workflow calling back
#: into the hub it runs in); an HTTP request's own caller always wins.
_IN_PROCESS_CALLER: ContextVar[Caller | None] = ContextVar("mcp_hub_in_process_caller", default=None)


def current_caller() -> Caller | None:
    """The caller of the request being served, or None outside a request."""
    return _CALLER.get()


def lockdown_requested() -> bool:
    """True when the current caller asked for lockdown (outsider text withheld)."""
    caller = _CALLER.get()
    return caller is not None and caller.lockdown


def current_context() -> Any:
    """The MCP `Context` of the tool call being served (None outside one).

    Workflow tools use it to ask the client for approval (`ctx.elicit(...)`) or
    report progress (`ctx.report_progress(...)`); typed `Any` so that the core's
    callers need not import the SDK's server module.
    """
    return _CONTEXT.get()


class InputRequired(Exception):
    """Raised by a tool method to answer with an `InputRequiredResult` (MCP 2026-07-28).

    The client fulfils `result.input_requests` and calls the tool again with the same
    arguments, carrying its answers and the echoed `request_state` (read them on the
    retry from `current_context().input_responses` / `.request_state`). The SDK seals
    `request_state` on the way out and verifies it on the way back, so the tool reads
    only state it minted itself.
    """

    def __init__(self, result: Any) -> None:
        super().__init__("input required")
        self.result = result


def asks_by_input_required(ctx: Any) -> bool:
    """True when this call's client is asked through `InputRequired` (>= 2026-07-28), not `ctx.elicit`."""
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS

    return ctx is not None and ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
