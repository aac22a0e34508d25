"""The settings every upstream connector shares: timeout, retries, CA bundle, proxy.

A connector's settings model inherits this block next to `ConnectorSettings`
(`class GithubSettings(ConnectorSettings, UpstreamSettings)`), so the same keys
mean the same thing on every connector (`MCP_HUB_<CONNECTOR>__TIMEOUT_S`, …) and
have one default each. Cheap to import: no SDK, no `requests`.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

from mcp_hub.retry import RetryPolicy
from mcp_hub.secret import Secret

#: The one default per-request timeout of every connector, in seconds.
DEFAULT_TIMEOUT_S = 30.0


class UpstreamSettings(BaseModel):
    """Fields mixed into every upstream connector's settings."""

    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, le=300, description="Per-request timeout")
    retry_attempts: int = Field(default=3, ge=1, le=10, description="Attempts in all, the first included")
    retry_base_delay_s: float = Field(default=0.5, ge=0, le=30, description="First backoff ceiling")
    retry_max_wait_s: float = Field(default=20, ge=0, le=600, description="Longer waits go back to the caller")
    ca_bundle: str | None = Field(default=None, description="CA bundle file (default: SSL_CERT_FILE)")
    proxy: Secret | None = Field(
        default=None, description="Proxy URL for this instance (default: HTTPS_PROXY/NO_PROXY)"
    )

    def retry_policy(self) -> RetryPolicy:
        """The hub's retry policy with this instance's numbers."""
        base = self.retry_base_delay_s
        return RetryPolicy(
            attempts=self.retry_attempts,
            base_delay=base,
            max_delay=max(base * 16, base),
            max_wait=self.retry_max_wait_s,
        )

    def verify(self) -> bool | str:
        """What a `requests`-style `verify=` takes: the CA bundle file, or True (system store)."""
        return self.ca_bundle or os.environ.get("SSL_CERT_FILE") or True

    def proxies(self) -> dict[str, str] | None:
        """`requests`-style proxies when a proxy is set for this instance; None leaves the environment's."""
        if self.proxy is None:
            return None
        url = self.proxy.get_secret_value()
        return {"http": url, "https": url}
