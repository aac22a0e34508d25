"""The review as a library: review a pull/merge request from your own code (a bot, a chat command, a cron job).

    python examples/review/review_library.py https://github.com/acme/widgets/pull/7 http://vllm.internal:8000/v1

The hub is built in-process from the environment (GITHUB_TOKEN, GITLAB_TOKEN + GITLAB_URL, ...) and
called as the agent, so the hub's policy, data boundary and audit apply as for any client.
"""

from __future__ import annotations

import sys

import anyio

from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import build_server, hub_policy
from model.client import ModelClient
from model.endpoint import resolve_endpoint
from model.hub import AGENT_CALLER, open_hub
from model.profiles import get_profile
from model.review.engine import ReviewOptions
from model.review.render import report_markdown
from model.review.report import ReviewReport
from model.review.workflow import run_review


async def review(
    url: str, model_url: str, *, served_name: str = "", profile: str = "r1-distill-qwen-14b"
) -> ReviewReport:
    registry = Registry.discover(["github", "gitlab"])
    config = load_config(ecosystem_env=registry.ecosystem_env())
    server = build_server(config, registry=registry, caller=Caller(AGENT_CALLER, "memory", hub_policy(config)))
    async with ModelClient(resolve_endpoint("vllm", model_url)) as client, open_hub(server) as session:
        return await run_review(session, client, get_profile(profile), url, ReviewOptions(model=served_name))


def main() -> None:
    report = anyio.run(review, sys.argv[1], sys.argv[2])
    print(report_markdown(report))
    sys.exit(report.exit_code("high"))


if __name__ == "__main__":
    main()
