"""GitHub Actions: workflow runs for a ref, a run's jobs, a job's log tail (optionally failed steps only).

Step boundaries are not marked in a job's log, but every line starts with its
timestamp and each step of the job has `started_at`/`completed_at`: lines of
the failed steps are those stamped within a failed step's window. CI logs of a
public repository can carry anyone's output (a fork's pull request runs its own
code), so they are outsider text there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from connectors.github.base import GithubBase
from connectors.github.models import Job, JobLog, Jobs, Step, WorkflowRun, WorkflowRuns
from connectors.github.tools_repos import Cursor, Limit, RepoArg
from mcp_hub.connector import ToolOutput, tool

FAILED = ("failure", "timed_out", "cancelled")
#: The `status` filter GitHub accepts (a status or a conclusion); anything else is a 422 upstream.
RunStatus = Literal[
    "completed", "action_required", "cancelled", "failure", "neutral", "skipped", "stale", "success",
    "timed_out", "in_progress", "queued", "requested", "waiting", "pending",
]  # fmt: skip


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) < 19:
        return None
    try:
        return datetime.fromisoformat(value[:19] + "+00:00")
    except ValueError:
        return None


def failed_step_lines(log: str, steps: list[dict[str, Any]]) -> list[str]:
    windows = [
        (_when(s.get("started_at")), _when(s.get("completed_at"))) for s in steps if s.get("conclusion") in FAILED
    ]
    out = []
    for line in log.split("\n"):
        stamp = _when(line[:19])
        if stamp is None:
            continue
        if any(start and end and start <= stamp <= end for start, end in windows):
            out.append(line)
    return out


class ActionTools(GithubBase):
    @tool(toolset="actions", description="List workflow runs, newest first; filter by branch or commit SHA.")
    async def list_workflow_runs(
        self,
        repo: RepoArg,
        branch: Annotated[str | None, Field(max_length=250)] = None,
        sha: Annotated[str | None, Field(max_length=64)] = None,
        status: RunStatus | None = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> ToolOutput[WorkflowRuns]:
        r = self.repo(repo)
        page = self.page(cursor)
        params = {"branch": branch, "head_sha": sha, "status": status, "per_page": limit, "page": page}
        response = await self.client.get(f"{r.api}/actions/runs", what=f"workflow runs of {r.full}", params=params)
        runs = [
            WorkflowRun(
                id=w["id"],
                name=w.get("name"),
                status=w.get("status"),
                conclusion=w.get("conclusion"),
                event=w.get("event", ""),
                branch=w.get("head_branch"),
                sha=w.get("head_sha", ""),
                created_at=w.get("created_at"),
            )
            for w in response.body.get("workflow_runs", [])
        ]
        nxt = self.next_cursor(response, page)
        data = WorkflowRuns(
            total=response.body.get("total_count", 0), runs=runs, next_cursor=nxt, truncated=nxt is not None
        )
        return ToolOutput(data, await self.labels(response))

    @tool(toolset="actions", description="Jobs of a workflow run with their failed steps.")
    async def list_run_jobs(
        self, repo: RepoArg, run_id: Annotated[int, Field(ge=1)], limit: Limit = 30, cursor: Cursor = None
    ) -> ToolOutput[Jobs]:
        r = self.repo(repo)
        page = self.page(cursor)
        response = await self.client.get(
            f"{r.api}/actions/runs/{run_id}/jobs",
            what=f"jobs of run {run_id} in {r.full}",
            params={"per_page": limit, "page": page},
        )
        jobs = [
            Job(
                id=j["id"],
                name=j.get("name", ""),
                status=j.get("status", ""),
                conclusion=j.get("conclusion"),
                failed_steps=[
                    Step(number=s["number"], name=s.get("name", ""), conclusion=s.get("conclusion"))
                    for s in j.get("steps") or []
                    if s.get("conclusion") in FAILED
                ],
            )
            for j in response.body.get("jobs", [])
        ]
        nxt = self.next_cursor(response, page)
        data = Jobs(jobs=jobs, next_cursor=nxt, truncated=nxt is not None)
        return ToolOutput(data, await self.labels(response))

    @tool(toolset="actions", description="The tail of a job's log; failed_only keeps the failed steps' lines.")
    async def get_job_log(
        self,
        repo: RepoArg,
        job_id: Annotated[int, Field(ge=1)],
        tail_lines: Annotated[int, Field(ge=1, le=2000)] = 200,
        failed_only: bool = False,
    ) -> ToolOutput[JobLog]:
        r = self.repo(repo)
        what = f"job {job_id} in {r.full}"
        steps: list[dict[str, Any]] = []
        if failed_only:
            job = await self.client.get(f"{r.api}/actions/jobs/{job_id}", what=what)
            steps = job.body.get("steps") or []
        log = await self.client.get(
            f"{r.api}/actions/jobs/{job_id}/logs", what=f"log of {what}", accept="*/*", follow_redirect=True
        )
        text = str(log.body or "")
        lines = failed_step_lines(text, steps) if failed_only else text.rstrip("\n").split("\n")
        tail = lines[-tail_lines:]
        vis = await self.visibility(r)
        gate = self.gate()
        body = "\n".join(tail)
        if vis == "public":
            body = gate.outsider(body)
        data = JobLog(
            job_id=job_id,
            steps=[s.get("name", "") for s in steps if s.get("conclusion") in FAILED],
            text=body,
            truncated=len(lines) > len(tail),
        )
        return ToolOutput(data, await self.labels(log, gate=gate))
