"""Wiring for `mcp-hub model eval`: endpoints, the world, the suites, the results file, the report."""

from __future__ import annotations

import argparse
import json
from contextlib import AsyncExitStack
from typing import Any

from mcp_hub.errors import InvalidInput
from mcp_hub.logs import progress as status
from model.app import endpoint_for, model_settings
from model.client import ModelClient
from model.eval import bias, code, tools
from model.eval.data import load_bias, load_code, load_tools
from model.eval.options import check_reports, parse_suites
from model.eval.progress import Progress
from model.eval.report import Report, render_html, render_json, render_markdown, warnings_of
from model.eval.store import ResultsStore
from model.eval.suite import Plan, Target, run_cases
from model.eval.summary import summarise
from model.eval.thresholds import check, parse_fail_under
from model.profiles import get_profile
from model.settings import ModelSettings


async def run_eval_command(args: argparse.Namespace) -> int:
    suites = parse_suites(args.suite)
    thresholds = parse_fail_under(args.fail_under)
    check_reports(args.report)
    if args.samples < 1:
        raise InvalidInput("--samples must be at least 1")
    if args.judge_url and not args.judge_model:
        raise InvalidInput("--judge-url needs --judge-model")
    settings = model_settings(args)  # [model] token limits apply to every agent run of the tools suite

    def client(base_url: str | None = None, backend: str | None = None) -> ModelClient:
        return ModelClient(endpoint_for(settings, base_url=base_url, backend=backend))

    store = ResultsStore(args.results)
    versions: dict[str, int] = {}
    skipped: dict[str, dict[str, str]] = {}
    async with AsyncExitStack() as stack:
        targets = [
            Target(
                await stack.enter_async_context(client()),
                args.eval_model,
                _profile(args.profile, args.eval_model),
            )
        ]
        if args.compare:
            other = await stack.enter_async_context(client(args.compare_base_url))
            targets.append(Target(other, args.compare, _profile(args.compare_profile, args.compare)))
        judge = None
        if args.judge_url:
            judge_client = await stack.enter_async_context(client(args.judge_url, "custom"))
            judge = Target(judge_client, args.judge_model, get_profile("generic"))
        world = None
        if "tools" in suites:
            from model.eval.world import runtime_world

            world = await stack.enter_async_context(runtime_world(args.database_url))
        plans: list[tuple[Target, Plan, dict[str, Any]]] = []
        for target in targets:
            for suite in suites:
                plan, version = _plan(suite, target, world, judge, args.max_steps, settings)
                versions[suite] = version
                if plan.skipped:
                    skipped[suite] = plan.skipped
                plans.append((target, plan, {"data_version": version}))
        progress = Progress(sum(len(p.cases) for _, p, _ in plans) * args.samples, quiet=args.json)
        failed: list[str] = []
        for target, plan, meta in plans:
            failed += await run_cases(store, target, plan.cases, args.samples, progress, meta)
        progress.close()
    models = [t.name for t in targets]
    summary = summarise(store.records, models, suites)
    failures = check(summary[models[0]], thresholds)
    report = Report(models, suites, summary, [r for r in store.records if r["model"] in models], versions, skipped)
    report.failures, report.thresholds = failures, thresholds
    for path in args.report:
        suffix = path.suffix.lower()
        text = (
            render_markdown(report)
            if suffix == ".md"
            else render_json(report)
            if suffix == ".json"
            else render_html(report)
        )
        path.write_text(text, encoding="utf-8")
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_summary(report)
    if failed:
        status(
            f"error: {len(failed)} samples failed on a model error and are not in {args.results.name} "
            f"(re-run to retry them); first: {failed[0]}"
        )
        return 2
    return 1 if failures else 0


def _profile(name: str | None, served: str) -> Any:
    return get_profile(name or served)


def _plan(
    suite: str, target: Target, world: Any, judge: Target | None, max_steps: int, settings: ModelSettings
) -> tuple[Plan, int]:
    if suite == "tools":
        data = load_tools()
        return tools.plan(data, target, world, max_steps, settings), data.version
    if suite == "code":
        code_data = load_code()
        return code.plan(code_data, target), code_data.version
    bias_data = load_bias()
    return bias.plan(bias_data, target, judge), bias_data.version


def _print_summary(report: Report) -> None:
    for suite, skipped in report.skipped.items():
        for task, why in skipped.items():
            status(f"skipped {suite} task {task}: {why}", suite=suite, task=task)
    print(render_markdown(report).split("\n## Bias answers side by side")[0])
    for warning in warnings_of(report):
        status(f"warning: {warning}", warning=warning)
    if report.failures:
        status("fail-under: " + "; ".join(report.failures), failures=report.failures)
