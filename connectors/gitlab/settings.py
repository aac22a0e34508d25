"""Settings of one GitLab instance (gitlab.com or self-managed).

Imported when the hub reads its config, so it must stay cheap: no python-gitlab here.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from mcp_hub.connector import ConnectorSettings
from mcp_hub.secret import Secret
from mcp_hub.upstream.settings import UpstreamSettings

DEFAULT_URL = "https://gitlab.com"
#: An allow-list entry: a numeric id, or a path whose last part may be a glob (`group/*`, `group/sub/name`).
_PROJECT_ENTRY = re.compile(r"^(\d+|[\w.-]+(/[\w.*-]+)+)$")


class GitlabSettings(ConnectorSettings, UpstreamSettings):
    """`timeout_s`, `retry_*`, `ca_bundle` and `proxy` come from the kit's `UpstreamSettings`."""

    token: Secret | None = Field(default=None, description="Personal, project or group access token")
    projects: list[str] = Field(
        default_factory=list,
        description="Allow-list: 'group/*', 'group/project' or numeric ids; empty allows every project",
    )
    lockdown: bool = Field(default=False, description="Withhold text written by non-members")
    max_concurrency: int = Field(default=4, ge=1, le=32, description="Parallel requests per instance")
    cache_ttl_s: float = Field(default=300, ge=0, description="How long project metadata and members are cached")
    members_max_pages: int = Field(default=10, ge=1, le=100, description="Member pages (100 each) read per project")
    max_file_chars: int = Field(default=60_000, ge=1000, le=1_000_000, description="Longest file text returned")
    max_log_chars: int = Field(default=20_000, ge=1000, le=1_000_000, description="Longest job log tail returned")

    @field_validator("projects", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("projects")
    @classmethod
    def _entries(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not _PROJECT_ENTRY.match(entry) or any(part in (".", "..") for part in entry.split("/")):
                raise ValueError(f"projects entry {entry!r} must be a numeric id or 'group/name', 'group/*'")
        return value

    @field_validator("base_url")
    @classmethod
    def _strip_api_suffix(cls, value: str | None) -> str | None:
        """Accept `https://host/api/v4` as well: python-gitlab adds /api/v4 itself."""
        if value is None:
            return None
        value = value.rstrip("/")
        return value[: -len("/api/v4")] if value.endswith("/api/v4") else value

    @property
    def url(self) -> str:
        return self.base_url or DEFAULT_URL

    def missing(self) -> str | None:
        if self.token is None:
            return "no token: set GITLAB_TOKEN or MCP_HUB_GITLAB__TOKEN"
        return None
