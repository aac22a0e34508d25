"""Pipeline tools: list, jobs (failed only on request), log tail, retry."""

from __future__ import annotations

import pytest
from mcp import Client

from tests.connectors.gitlab.conftest import Fake, Make, call

pytestmark = pytest.mark.anyio
APP = "acme/app"


async def test_pipelines_jobs_and_log(make_hub: Make) -> None:
    async with Client(make_hub()) as client:
        pipes = await client.call_tool("gitlab_list_pipelines", {"project": APP, "ref": "feature", "status": "failed"})
        jobs = await client.call_tool("gitlab_list_pipeline_jobs", {"project": APP, "pipeline_id": 902})
        failed = await client.call_tool(
            "gitlab_list_pipeline_jobs", {"project": APP, "pipeline_id": 902, "failed_only": True}
        )
        log = await client.call_tool("gitlab_get_job_log", {"project": APP, "job_id": 9021, "tail_lines": 3})
        missing = await client.call_tool("gitlab_list_pipeline_jobs", {"project": APP, "pipeline_id": 1})
        bad = await client.call_tool("gitlab_get_job_log", {"project": APP, "job_id": 0})
    assert [p["id"] for p in pipes.structured_content["pipelines"]] == [902]
    assert [j["name"] for j in jobs.structured_content["jobs"]] == ["build", "test"]
    assert failed.structured_content["jobs"] == [
        {"id": 9021, "name": "test", "stage": "test", "status": "failed", "failure_reason": "script_failure"}
    ]
    text = log.structured_content["text"]
    # the last tail_lines lines, as GitHub's get_job_log counts them
    assert log.structured_content["truncated"] and "\x1b" not in text and text.count("\n") == 2
    assert text.split("\n")[-3:] == ["log line 498", "log line 499", "FAILED tests/test_app.py::test_x - assert 1 == 2"]
    assert log.meta["mcp_hub/provenance"]["resource"] == "gitlab://acme/app/jobs/9021"
    assert missing.is_error and missing.meta["mcp_hub/error"] == "not_found"
    assert bad.is_error


async def test_short_log_has_no_ansi_or_sections(make_hub: Make, fake: Fake) -> None:
    fake.state.projects[1].traces[9011] = (
        "\x1b[0Ksection_start:1700000000:step_script\r\x1b[0K\x1b[32;1m$ make\x1b[0;m\nok\n"
    )
    result = await call(make_hub(), "gitlab_get_job_log", {"project": APP, "job_id": 9011})
    assert result.structured_content["text"] == "$ make\nok" and not result.structured_content["truncated"]


async def test_retry_pipeline(make_hub: Make, fake: Fake) -> None:
    result = await call(make_hub(writes=True), "gitlab_retry_pipeline", {"project": APP, "pipeline_id": 902})
    assert result.structured_content == {"id": 902, "iid": None, "state": "running", "sha": None, "detail": None}
    assert fake.state.projects[1].pipelines[1]["status"] == "running"
