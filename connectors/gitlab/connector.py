"""GitLab connector (python-gitlab) for gitlab.com and self-managed instances.

Projects and repository, issues, merge requests (budgeted diffs, discussions,
diff-line notes, reviews from draft notes, merging), code changes and
pipelines. python-gitlab is imported on first use, never at import time; its
own retries are off (the hub's retry policy applies). The tools live in
mixins by area; this class only declares the connector.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from connectors.gitlab import MANIFEST
from connectors.gitlab.settings import GitlabSettings
from connectors.gitlab.tools_account import AccountTools
from connectors.gitlab.tools_changes import ChangeTools
from connectors.gitlab.tools_issues import IssueTools
from connectors.gitlab.tools_mr import MergeRequestTools
from connectors.gitlab.tools_pipelines import PipelineTools
from connectors.gitlab.tools_repo import RepoTools
from connectors.gitlab.tools_review import ReviewTools


class GitlabConnector(AccountTools, RepoTools, ChangeTools, IssueTools, MergeRequestTools, ReviewTools, PipelineTools):
    name: ClassVar[str] = "gitlab"
    settings_model = GitlabSettings
    ecosystem_env: ClassVar[Mapping[str, str]] = MANIFEST.ecosystem_env
    default_toolsets = frozenset({"context", "repos", "issues", "merge_requests"})
    requires = ("gitlab",)
    extra = "gitlab"

    async def diagnose(self) -> list[str]:
        from connectors.gitlab.client import get_json
        from mcp_hub.errors import ConnectorError

        try:
            user = await self.call(lambda gl: get_json(gl, "/user"), what="the token's user")
        except ConnectorError as exc:
            return [f"cannot use the token: {exc.message}"]
        if user.get("is_admin"):
            return ["the token belongs to an administrator: use a project or group access token with fewer rights."]
        return []


__all__ = ["GitlabConnector", "GitlabSettings"]
