"""The review as a library: review a pull/merge request from your own code (a bot, a chat command, a cron job).

    python examples/review/review_library.py https://github.com/acme/widgets/pull/7 http://vllm.internal:8000/v1

The hub is built in-process from the environment (GITHUB_TOKEN, GITLAB_TOKEN + GITLAB_URL, ...) by
`model.app.AgentApp` (the one way every app of mcp-hub is wired) and called as the agent, so the hub's
policy, data boundary and audit apply as for any client.
"""

from __future__ import annotations

import sys

import anyio

from mcp_hub.config import load_config
from mcp_hub.registry import Registry
from model.app import AgentApp
from model.review.engine import ReviewOptions
from model.review.render import report_markdown
from model.review.report import ReviewReport
from model.review.workflow import run_review
from model.settings import ModelSettings


async def review(
    url: str, model_url: str, *, served_name: str = "", profile: str = "r1-distill-qwen-14b"
) -> ReviewReport:
    registry = Registry.discover(["github", "gitlab"])
    config = load_config(ecosystem_env=registry.ecosystem_env())
    app = AgentApp.from_config(config, registry, ModelSettings(base_url=model_url, name=served_name, profile=profile))
    async with app.client() as client, app.session() as session:
        return await run_review(session, client, app.profile, url, ReviewOptions(**app.limits()))


def main() -> None:
    report = anyio.run(review, sys.argv[1], sys.argv[2])
    print(report_markdown(report))
    sys.exit(report.exit_code("high"))


if __name__ == "__main__":
    main()
