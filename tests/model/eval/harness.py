"""Run eval suites in-process against the fake model server (what `command` does, minus the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from model.client import ClientOptions, ModelClient
from model.endpoint import resolve_endpoint
from model.eval import bias, code, tools
from model.eval.data import load_bias, load_code, load_tools
from model.eval.progress import Progress
from model.eval.store import ResultsStore
from model.eval.suite import Plan, Target, run_cases
from model.eval.summary import summarise
from model.eval.tools import ToolWorld
from model.profiles import get_profile


async def _no_sleep(_: float) -> None:
    return None


def client(base_url: str) -> ModelClient:
    return ModelClient(resolve_endpoint("vllm", base_url, env={}), ClientOptions(attempts=1), sleep=_no_sleep)


async def evaluate(
    base_url: str,
    models: list[tuple[str, str]],
    suites: list[str],
    results: Path,
    *,
    world: ToolWorld | None = None,
    samples: int = 1,
    judge: str | None = None,
) -> tuple[dict[str, Any], ResultsStore, dict[str, Plan]]:
    """models: (served name = behaviour, profile). Returns the summary, the store and the last plans by suite."""
    store = ResultsStore(results)
    plans: dict[str, Plan] = {}
    async with client(base_url) as http:
        judge_target = Target(http, judge, get_profile("generic")) if judge else None
        for name, profile in models:
            target = Target(http, name, get_profile(profile))
            for suite in suites:
                if suite == "tools":
                    assert world is not None
                    plan = tools.plan(load_tools(), target, world)
                elif suite == "code":
                    plan = code.plan(load_code(), target)
                else:
                    plan = bias.plan(load_bias(), target, judge_target)
                plans[suite] = plan
                await run_cases(store, target, plan.cases, samples, Progress(1, quiet=True), {"data_version": 1})
    return summarise(store.records, [m for m, _ in models], suites), store, plans
