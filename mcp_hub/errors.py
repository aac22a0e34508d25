"""The hub's one error tree.

Every failure a client can see is a `HubError`. Connectors translate their SDK's
exceptions into these at their boundary (never letting a raw SDK exception, its
message or its traceback reach the client), and the server turns a `HubError`
into a tool error whose text is the error's `message`, redacted.

    HubError
    ├── ConfigError            the hub's own configuration is wrong (start-up, `config check`)
    ├── PolicyDenied           the caller may not use this tool / see this data
    ├── InvalidInput           the arguments are wrong; the message says how to fix them
    └── ConnectorError         an upstream service failed
        ├── AuthError          credentials missing, wrong or lacking a permission
        ├── NotFound           the thing asked for does not exist (or is not visible)
        ├── RateLimited        upstream throttled us; `retry_after` seconds, when known
        ├── UpstreamTimeout    upstream (or a statement) took longer than allowed
        └── UpstreamUnavailable upstream is down or unreachable; try again later
    InternalError              the hub's own bug met on the way to upstream (`mcp_hub.upstream`
                               logs its traceback under the incident id the message names)

Anything else raised by a tool is a bug: the client gets a generic message and
the details go to the log only.
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub reports to a client."""

    #: Short machine-readable kind, also written to the audit log.
    kind: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(HubError):
    kind = "config"


class PolicyDenied(HubError):
    kind = "denied"


class InvalidInput(HubError):
    kind = "invalid_input"


class ConnectorError(HubError):
    kind = "upstream"


class AuthError(ConnectorError):
    kind = "auth"


class NotFound(ConnectorError):
    kind = "not_found"


class RateLimited(ConnectorError):
    kind = "rate_limited"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        #: The message without the "Retry after" suffix (shared with other replicas, see mcp_hub.state).
        self.reason = message
        if retry_after is not None:
            message = f"{message} Retry after {retry_after:.0f} s."
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamTimeout(ConnectorError):
    kind = "timeout"


class UpstreamUnavailable(ConnectorError):
    kind = "unavailable"


class InternalError(HubError):
    """A bug in the hub itself (not upstream's fault): shown with the incident id its log line carries."""

    kind = "internal"

    def __init__(self, message: str, incident: str) -> None:
        super().__init__(message)
        self.incident = incident
