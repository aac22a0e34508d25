"""The real hub for agent tests: the GitHub connector on the GitHub fake and Postgres on the test database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.github import GithubConnector
from connectors.postgres import PostgresConnector
from mcp_hub.approvals import ApprovalQueue
from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy
from model.agent import Agent, AgentOptions, AgentResult
from model.approvals import Approver
from model.client import ClientOptions, ModelClient
from model.endpoint import resolve_endpoint
from model.gate import Gate, VerdictLog
from model.guard import FlowGuard
from model.hub import AGENT_CALLER, open_hub
from model.profiles import get_profile
from tests.connectors.github.fake_state import PAT
from tests.pg import TestDatabase

MODEL = "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"


def make_hub(
    pg: TestDatabase, github_api: str, audit_log: Path | None = None, extra_env: dict[str, str] | None = None
) -> HubServer:
    registry = Registry([GithubConnector, PostgresConnector])
    env = {
        "GITHUB_TOKEN": PAT,
        "GITHUB_API_URL": github_api,
        "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
        "DATABASE_URL": pg.reader_dsn,
        "MCP_HUB_TOOLSETS": "all",
        "MCP_HUB_ALLOW_WRITES": "1",
    }
    if audit_log is not None:
        env["MCP_HUB_AUDIT_LOG"] = str(audit_log)
    env |= extra_env or {}
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    return build_server(config, registry=registry, caller=Caller(AGENT_CALLER, "memory", hub_policy(config)))


@dataclass
class Run:
    result: AgentResult
    asked: list[Any] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)


async def _no_sleep(_: float) -> None:
    return None


async def run_agent(
    hub: HubServer,
    base_url: str,
    task: str,
    *,
    profile: str = MODEL,
    approve: tuple[str, ...] = (),
    ask: Callable[[str], bool] | None = None,
    verdict_log: Path | None = None,
    stream: bool = False,
    max_steps: int = 8,
    queue: ApprovalQueue | None = None,
) -> Run:
    import json

    async def ask_async(question: str) -> bool:
        assert ask is not None
        return ask(question)

    approver = Approver(globs=approve, ask=ask_async if ask else None, queue=queue)
    gate = Gate(approver, FlowGuard(), VerdictLog(verdict_log), run="test")
    client = ModelClient(resolve_endpoint("vllm", base_url, env={}), ClientOptions(attempts=2), sleep=_no_sleep)
    async with client, open_hub(hub) as session:
        chosen = get_profile(profile)
        agent = Agent(client, session, chosen, gate, AgentOptions(max_steps=max_steps, stream=stream, model=MODEL))
        result = await agent.run(task)
    verdicts = []
    if verdict_log is not None and verdict_log.exists():
        verdicts = [json.loads(line) for line in verdict_log.read_text().splitlines()]
    return Run(result, list(approver.asked), verdicts)
