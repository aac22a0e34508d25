"""Settings of one Google Drive instance.

Imported when the hub reads its config, so it must stay cheap: no Google SDK here.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from mcp_hub.connector import ConnectorSettings
from mcp_hub.secret import Secret
from mcp_hub.upstream.settings import UpstreamSettings

DRIVE_ROOT = "https://www.googleapis.com/"
SHEETS_ROOT = "https://sheets.googleapis.com/"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


class GdriveSettings(ConnectorSettings, UpstreamSettings):
    credentials: Secret | None = Field(
        default=None, description="Service-account or authorized-user JSON (or credentials_file = its path)"
    )
    credentials_path: str | None = Field(default=None, description="Path of that JSON (GOOGLE_APPLICATION_CREDENTIALS)")
    subject: str | None = Field(default=None, description="User to impersonate (domain-wide delegation)")
    token_uri: str | None = Field(
        default=None, description="OAuth token endpoint override (authorized-user files always use Google's)"
    )
    domain: str | None = Field(default=None, description="Your organisation's domain; others' files are outsider text")
    allow_writes: bool = Field(default=False, description="Ask for read-write scopes (needed by the write tools)")
    lockdown: bool = Field(default=False, description="Withhold the content of files from outside the domain")
    sheets_base_url: str | None = Field(default=None, description="Sheets API root (default: base_url, else Google's)")
    folders: list[str] = Field(
        default_factory=list,
        description="Folder or shared-drive ids the tools may reach (and what is under them); empty: the whole account",
    )
    max_concurrency: int = Field(default=4, ge=1, le=32, description="Concurrent requests of this instance")
    page_chars: int = Field(default=20_000, ge=1000, le=1_000_000, description="Characters of a file per read page")
    max_rows: int = Field(default=500, ge=1, le=10_000, description="Most spreadsheet rows returned")
    max_download_bytes: int = Field(default=10_000_000, ge=1000, description="Larger files are read in part")
    resource_chars: int = Field(default=200_000, ge=1000, description="Most characters a gdrive:/// resource returns")

    @field_validator("folders", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("folders")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        for folder in value:
            if folder == "root" or not _ID.match(folder):
                raise ValueError(f"folders entry {folder!r} must be a folder or shared drive id (not 'root')")
        return value

    def missing(self) -> str | None:
        if self.credentials is None and not self.credentials_path:
            return (
                "no credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account or authorized-user JSON file "
                "(or MCP_HUB_GDRIVE__CREDENTIALS_FILE)"
            )
        return None

    def drive_root(self) -> str:
        return _slash(self.base_url or DRIVE_ROOT)

    def sheets_root(self) -> str:
        return _slash(self.sheets_base_url or self.base_url or SHEETS_ROOT)

    def own_domain(self) -> str | None:
        """The configured domain, else the delegated user's."""
        if self.domain:
            return self.domain.lower().lstrip("@")
        if self.subject and "@" in self.subject:
            return self.subject.rsplit("@", 1)[1].lower()
        return None


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
