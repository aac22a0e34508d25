"""Code changes: create a branch, commit one or several files in one commit (commits API with actions)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from connectors.gitlab.args import ProjectArg
from connectors.gitlab.base import GitlabBase
from connectors.gitlab.models import Created
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.errors import InvalidInput


class FileChange(BaseModel):
    path: Annotated[str, Field(min_length=1, max_length=1000)]
    action: Literal["create", "update", "delete"] = "update"
    content: Annotated[str | None, Field(description="full new text; omit for delete", max_length=1_000_000)] = None


class ChangeTools(GitlabBase):
    @tool(toolset="repos", description="Create a branch from a ref.", read_only=False)
    async def create_branch(
        self,
        project: ProjectArg,
        branch: Annotated[str, Field(min_length=1, max_length=250)],
        ref: Annotated[str, Field(description="default branch if omitted", max_length=250)] = "",
    ) -> ToolOutput[Created]:
        info = await self.project(project)
        start = ref or info.default_branch or "HEAD"
        raw = await self.call(
            lambda gl: gl.http_post(
                f"/projects/{info.id}/repository/branches", post_data={"branch": branch, "ref": start}
            ),
            what=f"ref {start!r}",
            idempotent=False,
        )
        assert isinstance(raw, dict)
        sha = (raw.get("commit") or {}).get("id")
        return self.out(Created(id=branch, sha=sha), self.provenance(info, f"branches/{branch}"))

    @tool(toolset="repos", description="Commit file changes to a branch in one commit.", read_only=False)
    async def commit_files(
        self,
        project: ProjectArg,
        branch: Annotated[str, Field(min_length=1, max_length=250)],
        message: Annotated[str, Field(min_length=1, max_length=10_000)],
        files: Annotated[list[FileChange], Field(min_length=1, max_length=100)],
        start_branch: Annotated[str, Field(description="create branch from this one first", max_length=250)] = "",
    ) -> ToolOutput[Created]:
        actions: list[dict[str, Any]] = []
        for change in files:
            if (change.action == "delete") != (change.content is None):
                raise InvalidInput(f"{change.path}: pass content for create/update and none for delete")
            action: dict[str, Any] = {"action": change.action, "file_path": change.path.strip("/")}
            if change.content is not None:
                action["content"] = change.content
            actions.append(action)
        info = await self.project(project)
        data: dict[str, Any] = {"branch": branch, "commit_message": message, "actions": actions}
        if start_branch:
            data["start_branch"] = start_branch
        raw = await self.call(
            lambda gl: gl.http_post(f"/projects/{info.id}/repository/commits", post_data=data),
            what=f"branch {start_branch or branch!r}",
            idempotent=False,
        )
        assert isinstance(raw, dict)
        return self.out(
            Created(id=str(raw["id"]), sha=str(raw["id"]), detail=branch), self.provenance(info, f"commits/{raw['id']}")
        )
