"""GitHub connector (PyGithub): repositories, issues, pull requests, reviews, Actions and code changes.

Each area's tools live in their own module (`tools_*.py`) as a mixin of
`GithubBase`; this class only declares the connector. PyGithub is imported
on first use, never when this module is imported.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import ClassVar

from connectors.github import MANIFEST
from connectors.github.settings import GithubSettings
from connectors.github.tools_account import AccountTools
from connectors.github.tools_actions import ActionTools
from connectors.github.tools_checks import CheckTools
from connectors.github.tools_issues import IssueTools
from connectors.github.tools_repos import RepoTools
from connectors.github.tools_threads import ThreadTools
from connectors.github.tools_writes import WriteTools

__all__ = ["GithubConnector", "GithubSettings"]


class GithubConnector(AccountTools, WriteTools, CheckTools, ThreadTools, RepoTools, IssueTools, ActionTools):
    name: ClassVar[str] = "github"
    settings_model = GithubSettings
    ecosystem_env: ClassVar[Mapping[str, str]] = MANIFEST.ecosystem_env
    default_toolsets = frozenset({"context", "repos", "issues", "pull_requests"})
    requires = ("github", "jwt")
    extra = "github"

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if self._client is not None:
                self._client.close()

    async def diagnose(self) -> list[str]:
        warnings = []
        if not self.settings.repos:
            warnings.append("no repos allow-list: every repository the credentials can reach is available")
        if self.settings.token is not None and self.settings.app_id is not None:
            warnings.append("both a token and a GitHub App are configured; the token is used")
        return warnings
