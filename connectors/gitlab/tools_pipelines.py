"""Pipelines: list for a ref, jobs of a pipeline, a job's log tail, retry."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from connectors.gitlab.args import REF_PATTERN, Cursor, Limit, ProjectArg, ref_value
from connectors.gitlab.base import GitlabBase, next_cursor, page_query, username
from connectors.gitlab.models import Created, Job, JobList, JobLog, PipelineList
from connectors.gitlab.tools_mr import pipeline_of
from mcp_hub.connector import ToolOutput, tool

if TYPE_CHECKING:
    from gitlab import Gitlab

Id = Annotated[int, Field(ge=1)]
#: ANSI colours and GitLab's collapsible-section markers, noise to a model.
_LOG_NOISE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|section_(?:start|end):\d+:[\w.\[\]-]+\r?|\r(?!\n)")


def clean_log(text: str) -> str:
    return _LOG_NOISE.sub("", text)


class PipelineTools(GitlabBase):
    @tool(toolset="pipelines", description="List pipelines, newest first, optionally for one ref or status.")
    async def list_pipelines(
        self,
        project: ProjectArg,
        ref: Annotated[str, Field(max_length=250, pattern=REF_PATTERN)] = "",
        status: Literal["running", "pending", "success", "failed", "canceled", "skipped", "manual"] | None = None,
        limit: Limit = 20,
        cursor: Cursor = "",
    ) -> ToolOutput[PipelineList]:
        from connectors.gitlab.client import get_page

        info = await self.project(project)
        params: dict[str, Any] = {"per_page": limit, **page_query(cursor)}
        if ref:
            params["ref"] = ref_value(ref)
        if status:
            params["status"] = status
        (items, more), target = await self.sent(lambda gl: get_page(gl, f"/projects/{info.id}/pipelines", params))
        result = PipelineList(pipelines=[pipeline_of(p) for p in items], next_cursor=next_cursor(more))
        return self.out(result, self.provenance(target))

    @tool(toolset="pipelines", description="Jobs of a pipeline; failed_only for failed ones.")
    async def list_pipeline_jobs(
        self, project: ProjectArg, pipeline_id: Id, failed_only: bool = False, limit: Limit = 100, cursor: Cursor = ""
    ) -> ToolOutput[JobList]:
        from connectors.gitlab.client import get_page

        info = await self.project(project)
        params: dict[str, Any] = {"per_page": limit, **page_query(cursor)}
        if failed_only:
            params["scope[]"] = "failed"
        (items, more), target = await self.sent(
            lambda gl: get_page(gl, f"/projects/{info.id}/pipelines/{pipeline_id}/jobs", params),
            what=f"pipeline {pipeline_id}",
        )
        jobs = [
            Job(
                id=int(j["id"]),
                name=str(j.get("name")),
                stage=str(j.get("stage")),
                status=str(j.get("status")),
                failure_reason=j.get("failure_reason"),
            )
            for j in items
        ]
        return self.out(JobList(jobs=jobs, next_cursor=next_cursor(more)), self.provenance(target))

    @tool(toolset="pipelines", description="The tail of a job's log.")
    async def get_job_log(
        self, project: ProjectArg, job_id: Id, tail_lines: Annotated[int, Field(ge=1, le=2000)] = 200
    ) -> ToolOutput[JobLog]:
        from connectors.gitlab.client import get_json, get_text

        info = await self.project(project)
        base = f"/projects/{info.id}/jobs/{job_id}"

        def fetch(gl: Gitlab) -> tuple[dict[str, Any], bytes]:
            return get_json(gl, base), get_text(gl, f"{base}/trace")[0]

        (job, raw), target = await self.sent(fetch, what=f"job {job_id}")
        text = clean_log(raw.decode("utf-8", "replace"))
        lines = text.rstrip("\n").split("\n")
        # the last tail_lines lines, and never more than the instance's max_log_chars (a line can be huge)
        tail = "\n".join(lines[-tail_lines:])[-self.settings.max_log_chars :]
        guard = await self.guard(info)
        log = JobLog(
            job_id=job_id,
            status=str(job.get("status")),
            text=guard.text(username(job.get("user")), tail),
            truncated=len(tail) < len(text.rstrip("\n")),
        )
        return self.out(log, self.provenance(target, guard))

    @tool(toolset="pipelines", description="Retry the failed jobs of a pipeline.", read_only=False)
    async def retry_pipeline(self, project: ProjectArg, pipeline_id: Id) -> ToolOutput[Created]:
        info = await self.project(project)
        raw, target = await self.sent(
            lambda gl: gl.http_post(f"/projects/{info.id}/pipelines/{pipeline_id}/retry"),
            what=f"pipeline {pipeline_id}",
            idempotent=False,
        )
        assert isinstance(raw, dict)
        return self.out(Created(id=int(raw["id"]), state=str(raw.get("status"))), self.provenance(target))
