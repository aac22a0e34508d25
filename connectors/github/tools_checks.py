"""Check runs: a completed check on a commit, with line annotations (the review bot's `--as check-run`).

GitHub lets only GitHub Apps create check runs (an installation token with `checks: write`); a
personal access token gets 403 "Resource not accessible by personal access token". One request
takes at most 50 annotations: the first 50 go with the creation, the rest are appended by
updating the run (GitHub adds annotations on each update).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from connectors.github.base import GithubBase
from connectors.github.models import Written
from connectors.github.tools_repos import RepoArg
from mcp_hub.connector import ToolOutput, tool

#: GitHub's limit of annotations per create/update request.
ANNOTATIONS_PER_REQUEST = 50


class Annotation(BaseModel):
    path: Annotated[str, Field(min_length=1, max_length=1000)]
    start_line: Annotated[int, Field(ge=1)]
    end_line: Annotated[int, Field(ge=1)]
    annotation_level: Literal["notice", "warning", "failure"]
    message: Annotated[str, Field(min_length=1, max_length=64_000)]
    title: Annotated[str | None, Field(max_length=255)] = None


class CheckTools(GithubBase):
    @tool(
        toolset="pull_requests",
        description="Create a completed check run on a commit, with line annotations (GitHub Apps only).",
        read_only=False,
    )
    async def create_check_run(
        self,
        repo: RepoArg,
        head_sha: Annotated[str, Field(min_length=40, max_length=64, pattern=r"^[0-9a-f]+$")],
        name: Annotated[str, Field(min_length=1, max_length=100)],
        conclusion: Literal["success", "failure", "neutral", "action_required"],
        title: Annotated[str, Field(min_length=1, max_length=255)],
        summary: Annotated[str, Field(min_length=1, max_length=65_535)],
        annotations: Annotated[list[Annotation], Field(max_length=500)] = [],  # noqa: B006 - pydantic copies
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        items = [a.model_dump(exclude_none=True) for a in annotations]
        batches = [items[i : i + ANNOTATIONS_PER_REQUEST] for i in range(0, len(items), ANNOTATIONS_PER_REQUEST)]
        output = {"title": title, "summary": summary, "annotations": batches[0] if batches else []}
        payload = {"name": name, "head_sha": head_sha, "status": "completed", "conclusion": conclusion}
        what = f"check run {name!r} on {r.full}@{head_sha[:12]} (GitHub Apps with checks: write only)"
        created = await self.client.request("POST", f"{r.api}/check-runs", what=what, body=payload | {"output": output})
        run_id = created.body["id"]
        for batch in batches[1:]:
            more = {"output": {"title": title, "summary": summary, "annotations": batch}}
            await self.client.request("PATCH", f"{r.api}/check-runs/{run_id}", what=what, body=more)
        out = Written(id=run_id, sha=head_sha, state=conclusion, html_url=created.body.get("html_url"))
        return ToolOutput(out, await self.labels(created))
