"""Handlers of the fake GitHub for Actions (runs, jobs, logs) and check runs, with their payloads."""

from __future__ import annotations

from typing import Any

from tests.connectors.github import payloads as p
from tests.connectors.github.fake_handlers import Req, Result, error, paginate
from tests.connectors.github.fake_state import FakeState, sha_of

STAMP = p.STAMP


def run_json(api: str, state: FakeState, full: str, w: dict[str, Any]) -> dict[str, Any]:
    owner, name = full.split("/")
    repo = state.repos[full]
    repo_json = p.repo(api, owner, name, repo.visibility, repo.default_branch)
    base = f"{api}/repos/{full}/actions/runs/{w['id']}"
    return w | {
        "node_id": p.node_id("RUN", w["id"]),
        "run_number": w["id"],
        "run_attempt": 1,
        "workflow_id": 1,
        "display_title": w["name"],
        "path": ".github/workflows/ci.yml",
        "created_at": STAMP,
        "updated_at": STAMP,
        "url": base,
        "html_url": f"{api.removesuffix('/api/v3')}/{full}/actions/runs/{w['id']}",
        "jobs_url": f"{base}/jobs",
        "logs_url": f"{base}/logs",
        "check_suite_url": f"{api}/repos/{full}/check-suites/{w['id']}",
        "artifacts_url": f"{base}/artifacts",
        "cancel_url": f"{base}/cancel",
        "rerun_url": f"{base}/rerun",
        "workflow_url": f"{api}/repos/{full}/actions/workflows/1",
        "pull_requests": [],
        "head_commit": None,
        "repository": repo_json,
        "head_repository": repo_json,
    }


def job_json(api: str, full: str, job: dict[str, Any], state: FakeState) -> dict[str, Any]:
    run = next((w for w in state.runs.get(full, []) if w["id"] == job["run_id"]), {})
    steps = job.get("steps") or []
    return job | {
        "node_id": p.node_id("JOB", job["id"]),
        "run_url": f"{api}/repos/{full}/actions/runs/{job['run_id']}",
        "run_attempt": 1,
        "workflow_name": run.get("name", "CI"),
        "head_branch": run.get("head_branch"),
        "url": f"{api}/repos/{full}/actions/jobs/{job['id']}",
        "html_url": f"{api.removesuffix('/api/v3')}/{full}/actions/runs/{job['run_id']}/job/{job['id']}",
        "check_run_url": f"{api}/repos/{full}/check-runs/{job['id']}",
        "created_at": STAMP,
        "started_at": steps[0]["started_at"] if steps else STAMP,
        "completed_at": steps[-1]["completed_at"] if steps else STAMP,
        "labels": ["ubuntu-latest"],
        "runner_id": 1,
        "runner_name": "GitHub Actions 1",
        "runner_group_id": 1,
        "runner_group_name": "GitHub Actions",
    }


def check_run_json(api: str, full: str, number: int, sha: str, c: dict[str, Any]) -> dict[str, Any]:
    done = c["status"] == "completed"
    return {
        "id": c.get("id", number),
        "node_id": p.node_id("CR", f"{sha}{number}"),
        "head_sha": sha,
        "external_id": "",
        "name": c["name"],
        "url": f"{api}/repos/{full}/check-runs/{number}",
        "html_url": f"{api.removesuffix('/api/v3')}/{full}/runs/{number}",
        "details_url": None,
        "status": c["status"],
        "conclusion": c["conclusion"],
        "started_at": STAMP,
        "completed_at": STAMP if done else None,
        "output": {
            "title": c.get("title"),
            "summary": c.get("summary"),
            "text": None,
            "annotations_count": len(c.get("annotations") or []),
            "annotations_url": f"{api}/repos/{full}/check-runs/{number}/annotations",
        },
        "check_suite": {"id": 1},
        "app": None,
        "pull_requests": [],
    }


def _check_run_problem(body: dict[str, Any], *, creating: bool) -> str | None:
    if creating and (not body.get("name") or not body.get("head_sha")):
        return "name and head_sha are required"
    output = body.get("output")
    if output is None:
        return None
    if not output.get("title") or not output.get("summary"):
        return "output needs title and summary"
    notes = output.get("annotations") or []
    if len(notes) > 50:
        return "Only 50 annotations can be sent per request"
    for note in notes:
        if not {"path", "start_line", "end_line", "annotation_level", "message"} <= note.keys():
            return "annotation is missing a required field"
        if note["annotation_level"] not in ("notice", "warning", "failure") or note["start_line"] > note["end_line"]:
            return "annotation is invalid"
    return None


class ActionHandlers:
    state: FakeState

    def create_check_run(self, req: Req) -> Result:
        # docs.github.com "REST API endpoints for check runs" – Create a check run: GitHub Apps only
        # (checks: write); a personal access token gets 403. At most 50 annotations per request.
        full = f"{req.m['owner']}/{req.m['repo']}"
        if full not in self.state.repos:
            return error(404, "Not Found")
        if self.state.checks_need_app and not req.actor(self.state).endswith("[bot]"):
            return error(403, "Resource not accessible by personal access token")
        body = req.body or {}
        problem = _check_run_problem(body, creating=True)
        if problem:
            return error(422, "Validation Failed", errors=[problem])
        output = dict(body.get("output") or {})
        run = {
            "id": self.state.new_id(),
            "name": body["name"],
            "head_sha": body["head_sha"],
            "status": body.get("status", "queued"),
            "conclusion": body.get("conclusion"),
            "title": output.get("title"),
            "summary": output.get("summary"),
            "annotations": list(output.get("annotations") or []),
        }
        self.state.check_runs.setdefault(body["head_sha"], []).append(run)
        return 201, check_run_json(req.api, full, run["id"], run["head_sha"], run), {}

    def update_check_run(self, req: Req) -> Result:
        # docs.github.com – Update a check run: annotations are added to the run's existing ones.
        full = f"{req.m['owner']}/{req.m['repo']}"
        runs = [c for every in self.state.check_runs.values() for c in every]
        run = next((c for c in runs if c.get("id") == int(req.m["id"])), None)
        if run is None or full not in self.state.repos:
            return error(404, "Not Found")
        if self.state.checks_need_app and not req.actor(self.state).endswith("[bot]"):
            return error(403, "Resource not accessible by personal access token")
        body = req.body or {}
        problem = _check_run_problem(body, creating=False)
        if problem:
            return error(422, "Validation Failed", errors=[problem])
        output = dict(body.get("output") or {})
        run["annotations"] += list(output.get("annotations") or [])
        run["title"], run["summary"] = output.get("title", run["title"]), output.get("summary", run["summary"])
        return 200, check_run_json(req.api, full, run["id"], run["head_sha"], run), {}

    def check_runs(self, req: Req) -> Result:
        full = f"{req.m['owner']}/{req.m['repo']}"
        runs = self.state.check_runs.get(req.m["ref"], [])
        items = [check_run_json(req.api, full, i + 1, req.m["ref"], c) for i, c in enumerate(runs)]
        return 200, {"total_count": len(items), "check_runs": items}, {}

    def list_runs(self, req: Req) -> Result:
        full = f"{req.m['owner']}/{req.m['repo']}"
        if full not in self.state.repos:
            return error(404, "Not Found")
        runs = [
            run_json(req.api, self.state, full, w)
            for w in self.state.runs.get(full, [])
            if req.params.get("branch", w["head_branch"]) == w["head_branch"]
            and req.params.get("head_sha", w["head_sha"]) == w["head_sha"]
            and req.params.get("status") in (None, w["status"], w["conclusion"])
        ]
        page, headers = paginate(req, runs)
        return 200, {"total_count": len(runs), "workflow_runs": page}, headers

    def run_jobs(self, req: Req) -> Result:
        full = f"{req.m['owner']}/{req.m['repo']}"
        run = int(req.m["id"])
        if not any(w["id"] == run for w in self.state.runs.get(full, [])):
            return error(404, "Not Found")
        jobs = [job_json(req.api, full, j, self.state) for j in self.state.jobs.values() if j["run_id"] == run]
        page, headers = paginate(req, jobs)
        return 200, {"total_count": len(jobs), "jobs": page}, headers

    def get_job(self, req: Req) -> Result:
        full = f"{req.m['owner']}/{req.m['repo']}"
        job = self.state.jobs.get(int(req.m["id"]))
        return (200, job_json(req.api, full, job, self.state), {}) if job else error(404, "Not Found")

    def job_logs(self, req: Req) -> Result:
        job = int(req.m["id"])
        if job not in self.state.logs:
            return error(404, "Not Found")
        host = req.api.removesuffix("/api/v3")
        return 302, None, {"location": f"{host}/api/blobs/logs/{job}?sig={sha_of('log', job)[:12]}"}
