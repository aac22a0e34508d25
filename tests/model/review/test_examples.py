"""The review examples: the CI workflows are fork-safe and run against the fakes; the client configs and
the library example work."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp import Client

from connectors.github import GithubConnector
from mcp_hub.config import load_config
from mcp_hub.registry import Registry
from mcp_hub.server import build_server
from model import cli
from model.review.tool import ReviewWorkflow
from tests.connectors.github.fake_state import PAT
from tests.model.review.conftest import MODEL
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.review.seed import REPO, SMALL_CHANGE, add_pull, url
from tests.model.review.test_cli_and_settings import parse

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "review"


def load_yaml(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((EXAMPLES / name).read_text())
    assert isinstance(data, dict)
    return data


def test_github_workflow_is_safe_for_forks() -> None:
    workflow = load_yaml("github-actions-review.yml")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert set(triggers) == {"pull_request_target"}
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    # The pull request's code is never checked out, so nothing of it can run with the secrets.
    assert not any("actions/checkout" in str(step.get("uses", "")) for step in steps)
    for step in steps:
        script = step.get("run", "")
        assert "${{" not in script, "expressions in a script are an injection vector: pass them through env"
        assert not re.search(r"\b(make|npm|yarn|pytest|tox|\./)", script), "nothing of the repository runs"
    secret_steps = [s for s in steps if "secrets." in json.dumps(s)]
    assert [s["name"] for s in secret_steps] == ["Review"]
    assert all("secrets." not in str(v) for k, v in job.items() if k != "steps")
    install = next(s["run"] for s in steps if "pip install" in s.get("run", ""))
    # mcp-hub from its own repository at a pinned commit (checked in tests/test_examples.py), not the PR's code
    assert "[github] @ $MCP_HUB_SOURCE" in install and "[0-9a-f]{40}" in install
    review = secret_steps[0]
    assert review["env"]["PR_URL"] == "${{ github.event.pull_request.html_url }}"
    assert review["env"]["VLLM_API_KEY"] == "${{ secrets.VLLM_API_KEY }}"


def _run_example_command(script: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> int:
    """The `mcp-hub review …` line of a CI example, its $VARS from `env`, run through model/cli.py."""
    line = next(part for part in script.splitlines() if part.strip().startswith("mcp-hub review"))
    argv = shlex.split(re.sub(r"\$(\w+)", lambda m: env[m.group(1)], line))[1:]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return cli.run(parse(*argv))


def test_github_workflow_runs_against_the_fakes(
    github: Any,
    github_served: tuple[Any, str],
    reviewer: FakeReviewer,
    model_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    number = add_pull(github, SMALL_CHANGE)
    review = next(s for s in load_yaml("github-actions-review.yml")["jobs"]["review"]["steps"] if s["name"] == "Review")
    values = {
        "${{ github.event.pull_request.html_url }}": url(number),
        "${{ secrets.GITHUB_TOKEN }}": PAT,
        "${{ github.api_url }}": github_served[1],
        "${{ vars.REVIEW_MODEL_URL }}": model_url,
        "${{ secrets.VLLM_API_KEY }}": "test-key",
    }
    env = {k: values.get(str(v), str(v)) for k, v in review["env"].items()}
    env |= {"MCP_HUB_MODEL__NAME": MODEL, "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0"}
    assert _run_example_command(review["run"], env, monkeypatch) == 0  # nothing at or above high
    assert "## Code review" in capsys.readouterr().out
    assert len(github.state.review_comments[REPO][number]) == 2
    assert all(r["model"] == MODEL for r in reviewer.requests)


def test_gitlab_job_runs_against_the_fakes(
    gitlab: Any,
    gitlab_served: tuple[Any, str],
    reviewer: FakeReviewer,
    model_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.connectors.gitlab.fake.state import TOKEN
    from tests.model.review.test_gitlab_review import add_mr, notes

    job = load_yaml("gitlab-ci-review.yml")["review"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert "REVIEW_BOT_TOKEN" not in json.dumps(job["variables"])  # only exported inside the script
    iid = add_mr(gitlab, SMALL_CHANGE)
    ci = {
        "CI_SERVER_URL": gitlab_served[1],
        "CI_MERGE_REQUEST_PROJECT_URL": "https://gitlab.example/acme/app",
        "CI_MERGE_REQUEST_IID": str(iid),
        "REVIEW_BOT_TOKEN": TOKEN,
        "REVIEW_MODEL_URL": model_url,
    }
    env = {k: ci.get(str(v).lstrip("$"), str(v)) for k, v in job["variables"].items()} | ci
    exported = next(line for line in job["script"] if line.startswith("export "))
    for name, value in re.findall(r'(\w+)="\$(\w+)"', exported):
        env[name] = ci[value]
    env |= {"MCP_HUB_MODEL__NAME": MODEL}
    assert _run_example_command("\n".join(job["script"]), env, monkeypatch) == 0
    assert sum(1 for _, n in notes(gitlab, iid) if n.get("position")) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["claude_desktop_config.json", "vscode_mcp.json"])
async def test_client_configs_offer_the_review_tool(
    name: str,
    github: Any,
    github_served: tuple[Any, str],
    reviewer: FakeReviewer,
    model_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = json.loads((EXAMPLES / name).read_text())
    [server] = (data.get("mcpServers") or data["servers"]).values()
    assert server["command"] == "mcp-hub" and server["args"][0] == "serve"
    env = dict(server["env"]) | {
        "GITHUB_TOKEN": PAT,
        "GITHUB_API_URL": github_served[1],
        "MCP_HUB_REVIEW__BASE_URL": model_url,
        "MCP_HUB_REVIEW__SERVED_NAME": MODEL,
        "MCP_HUB_REVIEW__CONNECTORS": '["github"]',
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    registry = Registry([GithubConnector, ReviewWorkflow])
    hub = build_server(load_config(env=env, ecosystem_env=registry.ecosystem_env()), registry=registry)
    number = add_pull(github, SMALL_CHANGE)
    async with Client(hub) as client:
        result = await client.call_tool("review_pull_request", {"url": url(number)})
    assert not result.is_error and result.structured_content["findings"] == 2


@pytest.mark.anyio
async def test_library_example(
    github: Any,
    github_served: tuple[Any, str],
    reviewer: FakeReviewer,
    model_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = importlib.util.spec_from_file_location("review_library", EXAMPLES / "review_library.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("GITHUB_TOKEN", PAT)
    monkeypatch.setenv("GITHUB_API_URL", github_served[1])
    monkeypatch.setenv("MCP_HUB_GITHUB__RETRY_BASE_DELAY_S", "0")
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    number = add_pull(github, SMALL_CHANGE)
    report = await module.review(url(number), model_url, served_name=MODEL)
    assert len(report.findings) == 2 and report.exit_code("high") == 0


def test_the_manifest_module_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, model.review; "
        "print(sorted(m for m in ('model.client', 'model.review.tool', 'httpx2', 'mcp') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
