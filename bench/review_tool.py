"""The review MCP tool's own cost per call: reusing the hub it runs in, against building a second hub per call.

An outer hub (the GitHub connector on the GitHub fake, plus the `review` workflow) serves
`review_pull_request` to an in-memory client; a reviewing fake model answers. The same small pull request
is reviewed `--calls` times in each of two ways, in alternating rounds of the same run:

* `reuse`: the tool as it is (its agent calls back into the running hub, `HubServer.client_as`);
* `second_hub`: the baseline, what the tool did before: a hub of its own built for each call from the
  configuration (caller `agent`, the hub's policy), its GitHub connector opened and closed with it.

Reported: median and p90 wall time per tool call, the ratio reuse/second_hub, and the hubs
(`build_server`) and GitHub connector openings each call caused beyond the outer hub's own.

    PYTHONPATH=$PWD python bench/review_tool.py --calls 30
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fakes live with the tests

import mcp_hub.server
from connectors.github import GithubConnector
from mcp_hub.config import load_config
from mcp_hub.registry import Registry
from model.app import AgentApp, agent_caller
from model.review.tool import ReviewWorkflow
from tests.connectors.github.fake_app import FakeGithub
from tests.model.review.conftest import MODEL, github_env
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.review.seed import SMALL_CHANGE, add_pull, url

counts = {"build_server": 0, "github_lifespan": 0}


def _count() -> None:
    """Count hubs built and GitHub connectors opened."""
    build = mcp_hub.server.build_server

    def counted_build(*args: Any, **kwargs: Any) -> Any:
        counts["build_server"] += 1
        return build(*args, **kwargs)

    mcp_hub.server.build_server = counted_build
    opened = GithubConnector.lifespan

    @asynccontextmanager
    async def counted_lifespan(self: Any) -> AsyncIterator[None]:
        counts["github_lifespan"] += 1
        async with opened(self):
            yield

    GithubConnector.lifespan = counted_lifespan  # type: ignore[method-assign]


def second_hub_per_call(env: dict[str, str]) -> Any:
    """The baseline `_app`: the review's agent over a hub of its own, built for this call (the old tool)."""
    reuse = ReviewWorkflow._app

    def app(self: ReviewWorkflow) -> AgentApp:
        running = reuse(self)
        registry = Registry([GithubConnector])
        config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
        policy = mcp_hub.server.hub_policy(config)
        inner = mcp_hub.server.build_server(config, registry=registry, caller=agent_caller(policy))
        return AgentApp(running.settings, inner)

    return app


async def rounds(outer: Any, number: int, calls: int, env: dict[str, str]) -> dict[str, Any]:
    reuse, baseline = ReviewWorkflow._app, second_hub_per_call(env)
    times: dict[str, list[float]] = {"reuse": [], "second_hub": []}
    extra = {mode: {k: 0 for k in counts} for mode in times}
    async with Client(outer) as client:
        for _ in range(calls):
            for mode, app in (("reuse", reuse), ("second_hub", baseline)):
                ReviewWorkflow._app = app  # type: ignore[method-assign]
                before = dict(counts)
                started = time.perf_counter()
                result = await client.call_tool("review_pull_request", {"url": url(number)})
                times[mode].append(time.perf_counter() - started)
                assert not result.is_error, result.content
                for k in counts:
                    extra[mode][k] += counts[k] - before[k]
    ReviewWorkflow._app = reuse  # type: ignore[method-assign]
    out: dict[str, Any] = {"calls_each": calls}
    for mode, seen in times.items():
        seen.sort()
        out[mode] = {
            "median_ms": round(statistics.median(seen) * 1000, 1),
            "p90_ms": round(seen[int(len(seen) * 0.9) - 1] * 1000, 1),
            "hubs_built_per_call": round(extra[mode]["build_server"] / calls, 2),
            "github_openings_per_call": round(extra[mode]["github_lifespan"] / calls, 2),
        }
    out["median_ratio_reuse_vs_second_hub"] = round(out["reuse"]["median_ms"] / out["second_hub"]["median_ms"], 2)
    return out


async def run(api: str, model_url: str, number: int, calls: int) -> dict[str, Any]:
    env = github_env(api) | {
        "MCP_HUB_REVIEW__BASE_URL": model_url,
        "MCP_HUB_REVIEW__SERVED_NAME": MODEL,
        "MCP_HUB_REVIEW__CONNECTORS": '["github"]',
        "MCP_HUB_AUDIT_LOG": os.environ["MCP_HUB_AUDIT_LOG"],
    }
    inner_env = {k: v for k, v in env.items() if not k.startswith("MCP_HUB_REVIEW__")}  # the old inner hub's
    env.pop("MCP_HUB_CONNECTORS")
    registry = Registry([GithubConnector, ReviewWorkflow])
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    outer = mcp_hub.server.build_server(config, registry=registry)
    return await rounds(outer, number, calls, inner_env)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=30, help="tool calls in each mode")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    _count()
    github, reviewer = FakeGithub(), FakeReviewer()
    number = add_pull(github, dict(SMALL_CHANGE))
    from tests.support.http_server import serve_in_thread

    with tempfile.TemporaryDirectory() as home, serve_in_thread(github.app) as gh, serve_in_thread(reviewer.app) as m:
        os.environ["MCP_HUB_AUDIT_LOG"] = str(Path(home) / "audit.jsonl")
        row = anyio.run(run, gh + "/api/v3", m + "/v1", number, args.calls)
    print(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
