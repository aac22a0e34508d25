"""Settings of one GitHub account (instance).

Imported when the hub reads its config, so it must stay cheap: no PyGithub here.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from pydantic import Field, field_validator, model_validator

from mcp_hub.connector import ConnectorSettings
from mcp_hub.secret import Secret
from mcp_hub.upstream.settings import UpstreamSettings

_REPO_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/(\*|[A-Za-z0-9_.-]+)$")


class GithubSettings(ConnectorSettings, UpstreamSettings):
    token: Secret | None = Field(default=None, description="Personal access token (GITHUB_TOKEN)")
    app_id: str | None = Field(default=None, description="GitHub App id (with private_key and installation_id)")
    private_key: Secret | None = Field(default=None, description="GitHub App private key (PEM)")
    installation_id: int | None = Field(default=None, ge=1, description="GitHub App installation id")
    bot_login: str | None = Field(
        default=None,
        max_length=100,
        description="Login these credentials post as, when they cannot read /user (e.g. my-app[bot])",
    )
    repos: list[str] = Field(
        default_factory=list, description="Allow-list of 'owner/repo' or 'owner/*'; empty allows every repository"
    )
    lockdown: bool = Field(default=False, description="Withhold text written by outsiders")
    max_concurrency: int = Field(default=4, ge=1, le=32, description="Concurrent requests of this account")
    max_file_chars: int = Field(default=20_000, ge=1000, le=1_000_000, description="Longer files are cut")
    diff_budget_tokens: int = Field(default=6000, ge=500, le=50_000, description="Tokens of patches per page")
    diff_page_lines: int = Field(default=400, ge=20, le=5000, description="Lines per page of the diff resource")
    etag_cache_entries: int = Field(default=512, ge=0, le=100_000, description="GET responses kept for ETags")

    @field_validator("repos", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("repos")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not _REPO_PATTERN.match(pattern):
                raise ValueError(f"repos entry {pattern!r} must be 'owner/repo' or 'owner/*'")
        return [pattern.lower() for pattern in value]

    @model_validator(mode="after")
    def _app_complete(self) -> GithubSettings:
        app = (self.app_id, self.private_key, self.installation_id)
        if any(v is not None for v in app) and not all(v is not None for v in app):
            raise ValueError("a GitHub App needs app_id, private_key and installation_id together")
        return self

    @property
    def uses_app(self) -> bool:
        return self.app_id is not None and self.token is None

    def missing(self) -> str | None:
        if self.token is None and self.app_id is None:
            return (
                "no token: set GITHUB_TOKEN or MCP_HUB_GITHUB__TOKEN "
                "(or app_id, private_key and installation_id for a GitHub App)"
            )
        return None

    def allows(self, full_name: str) -> bool:
        """Whether `owner/repo` is on the allow-list (an empty list allows all)."""
        if not self.repos:
            return True
        name = full_name.lower()
        return any(fnmatchcase(name, pattern) for pattern in self.repos)
