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
