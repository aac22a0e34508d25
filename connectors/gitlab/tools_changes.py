"""Code changes: create a branch, commit one or several files in one commit (commits API with actions)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from connectors.gitlab.args import FilePath, ProjectArg, Ref, RefArg, plain_path, ref_value
from connectors.gitlab.base import GitlabBase
from connectors.gitlab.models import Created
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.errors import InvalidInput


class FileChange(BaseModel):
    path: Annotated[FilePath, Field(min_length=1)]
    action: Literal["create", "update", "delete"] = "update"
    content: Annotated[str | None, Field(description="full new text; omit for delete", max_length=1_000_000)] = None


class ChangeTools(GitlabBase):
    @tool(toolset="repos", description="Create a branch from a ref.", read_only=False)
    async def create_branch(
        self,
        project: ProjectArg,
        branch: Ref,
        ref: RefArg = "",
    ) -> ToolOutput[Created]:
        ref_value(branch, what="branch")
        info = await self.project(project)
        start = ref_value(ref or info.default_branch or "HEAD")
        raw, target = await self.sent(
            lambda gl: gl.http_post(
                f"/projects/{info.id}/repository/branches", post_data={"branch": branch, "ref": start}
            ),
            what=f"ref {start!r}",
            idempotent=False,
        )
        assert isinstance(raw, dict)
        sha = (raw.get("commit") or {}).get("id")
        return self.out(Created(id=branch, sha=sha), self.provenance(target))

    @tool(toolset="repos", description="Commit file changes to a branch in one commit.", read_only=False)
    async def commit_files(
        self,
        project: ProjectArg,
        branch: Ref,
        message: Annotated[str, Field(min_length=1, max_length=10_000)],
        files: Annotated[list[FileChange], Field(min_length=1, max_length=100)],
        start_branch: Annotated[RefArg, Field(description="create branch from this one first")] = "",
    ) -> ToolOutput[Created]:
        ref_value(branch, what="branch")
        ref_value(start_branch, what="start_branch")
        actions: list[dict[str, Any]] = []
        for change in files:
            if (change.action == "delete") != (change.content is None):
                raise InvalidInput(f"{change.path}: pass content for create/update and none for delete")
            action: dict[str, Any] = {"action": change.action, "file_path": plain_path(change.path, allow_empty=False)}
            if change.content is not None:
                action["content"] = change.content
            actions.append(action)
        info = await self.project(project)
        data: dict[str, Any] = {"branch": branch, "commit_message": message, "actions": actions}
        if start_branch:
            data["start_branch"] = start_branch
        raw, target = await self.sent(
            lambda gl: gl.http_post(f"/projects/{info.id}/repository/commits", post_data=data),
            what=f"branch {start_branch or branch!r}",
            idempotent=False,
        )
        assert isinstance(raw, dict)
        return self.out(Created(id=str(raw["id"]), sha=str(raw["id"]), detail=branch), self.provenance(target))
