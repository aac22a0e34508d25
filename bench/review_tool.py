"""The review MCP tool's own cost per call: does it reuse the hub it runs in, or build another one?

An outer hub (the GitHub connector on the GitHub fake, plus the `review` workflow) serves
`review_pull_request` to an in-memory client; a reviewing fake model answers. The same small pull
request is reviewed `--calls` times. Reported: the median and p90 wall time per tool call, and how
many hubs (`build_server`) and GitHub connector openings (`lifespan`) the calls caused beyond the
outer hub's own. Runs on any checkout (it uses only the public tool), so the same command on the
previous commit is the baseline.

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fakes live with the tests

from mcp import Client

import mcp_hub.server
from connectors.github import GithubConnector
from mcp_hub.config import load_config
from mcp_hub.registry import Registry
from model.review.tool import ReviewWorkflow
from tests.connectors.github.fake_app import FakeGithub
from tests.model.review.conftest import MODEL, github_env
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.review.seed import SMALL_CHANGE, add_pull, url
from tests.support.http_server import serve_in_thread

counts = {"build_server": 0, "github_lifespan": 0}


def _count() -> None:
    """Count hubs built and GitHub connectors opened (the outer hub's own are subtracted later)."""
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


async def run(api: str, model_url: str, number: int, calls: int) -> dict[str, Any]:
    env = github_env(api) | {
        "MCP_HUB_REVIEW__BASE_URL": model_url,
        "MCP_HUB_REVIEW__SERVED_NAME": MODEL,
        "MCP_HUB_REVIEW__CONNECTORS": '["github"]',
    }
    env.pop("MCP_HUB_CONNECTORS")
    os.environ.update(env)  # the tool's inner hub (on the old code) reads the environment
    registry = Registry([GithubConnector, ReviewWorkflow])
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    outer = mcp_hub.server.build_server(config, registry=registry)
    times: list[float] = []
    async with Client(outer) as client:
        before = dict(counts)
        for _ in range(calls):
            started = time.perf_counter()
            result = await client.call_tool("review_pull_request", {"url": url(number)})
            times.append(time.perf_counter() - started)
            assert not result.is_error, result.content
        extra = {k: counts[k] - before[k] for k in counts}
    times.sort()
    return {
        "calls": calls,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p90_ms": round(times[int(len(times) * 0.9) - 1] * 1000, 1),
        "hubs_built_per_call": round(extra["build_server"] / calls, 2),
        "github_openings_per_call": round(extra["github_lifespan"] / calls, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    _count()
    github, reviewer = FakeGithub(), FakeReviewer()
    number = add_pull(github, dict(SMALL_CHANGE))
    with tempfile.TemporaryDirectory() as home, serve_in_thread(github.app) as gh, serve_in_thread(reviewer.app) as m:
        os.environ["MCP_HUB_AUDIT_LOG"] = str(Path(home) / "audit.jsonl")
        row = anyio.run(run, gh + "/api/v3", m + "/v1", number, args.calls)
    print(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
