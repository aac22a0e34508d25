"""`mcp-hub review URL`: review a GitHub pull request or a GitLab merge request with the self-hosted model.

`--describe` writes the change's description and walkthrough instead (`model.review.describe_run`).

Markdown on stdout (or `--json`), progress on stderr; `--post` publishes one review.
Exit codes: 0 done, 1 something at or above `--fail-on` was found in the diff, 2 the change was not
reviewed (below `--min-coverage`, or the model failed on a file: fails closed) or the review could not run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import build_server, hub_policy
from model.approvals import terminal_ask
from model.gate import VerdictLog
from model.hub import AGENT_CALLER, open_hub
from model.profiles import get_profile
from model.review.describe import Description
from model.review.engine import ReviewOptions
from model.review.hubcalls import first_hub_error
from model.review.render import report_markdown
from model.review.report import ReviewReport
from model.review.target import parse_target
from model.review.workflow import PostOptions, run_review
from model.settings import take_model_settings


def add_review_command(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    review = subparsers.add_parser("review", help="review a pull/merge request with the self-hosted model")
    review.add_argument("url", help="a GitHub pull request or GitLab merge request URL")
    review.add_argument("--post", action="store_true", help="publish the review (inline comments + summary)")
    review.add_argument(
        "--as",
        dest="as_",
        choices=["review", "check-run"],
        default="review",
        help="with --post: review comments and a summary comment (default), or (GitHub, as a GitHub App) one check "
        "run on the head commit with the findings as annotations; its conclusion follows --fail-on",
    )
    review.add_argument("--fail-on", choices=["low", "medium", "high", "critical", "none"], default="none")
    review.add_argument("--lang", choices=["en", "ja"], help="language of the review (default: repo setting, en)")
    review.add_argument("--model", dest="profile", help="profile name or Hugging Face id")
    review.add_argument("--served-name", help="the model name the server expects (default: the profile's id)")
    review.add_argument("--base-url", help="OpenAI-compatible base URL (default: the backend's)")
    review.add_argument("--backend", choices=["vllm", "azure", "ollama", "llamacpp", "custom"])
    review.add_argument("--config", help="the hub's TOML config file")
    review.add_argument("--hub-url", help="a hub's Streamable HTTP URL instead of the in-process hub")
    review.add_argument("--budget-tokens", type=int, help="diff tokens per model call (default: from the profile)")
    review.add_argument("--max-calls", type=int, default=24, help="model calls at most (default 24)")
    review.add_argument("--min-severity", choices=["low", "medium", "high", "critical"], default="low")
    review.add_argument(
        "--max-tokens", type=int, help="answer tokens per model call, reasoning included (default: [model] or profile)"
    )
    review.add_argument(
        "--thinking-budget", type=int, help="vLLM thinking_token_budget per call (default: [model] thinking_budget)"
    )
    review.add_argument(
        "--min-coverage",
        type=_share,
        default=1.0,
        help="share of reviewable changed lines that must be reviewed, 0-1 (default 1: every reviewable file); "
        "below it, or when the model fails on any file, the run is 'not reviewed' (exit 2)",
    )
    review.add_argument(
        "--allow-link-host",
        action="append",
        default=[],
        metavar="HOST",
        help="a host model-written links may point at, beside the forge's own (repeatable)",
    )
    review.add_argument(
        "--describe",
        action="store_true",
        help="describe the change instead (summary, walkthrough per file group, risk); with --post, as one "
        "comment edited in place on later runs; exit 2 when the model failed to describe it",
    )
    review.add_argument(
        "--full",
        action="store_true",
        help="review the whole change even when the bot reviewed it before (default: only the commits pushed "
        "since the head its summary records; a force-push falls back to the whole change)",
    )
    review.add_argument("--verdict-log", help="JSON lines of posting decisions")
    review.add_argument("--json", action="store_true", help="print the report as JSON")


def _share(value: str) -> float:
    share = float(value)
    if not 0.0 <= share <= 1.0:
        raise argparse.ArgumentTypeError("a share between 0 and 1")
    return share


async def run_review_command(args: argparse.Namespace, make_client: Callable[..., Any]) -> int:
    parse_target(args.url)  # a bad URL fails before anything starts
    registry = Registry.discover()
    config = load_config(args.config, ecosystem_env=registry.ecosystem_env())
    settings = take_model_settings(config)
    log_path = Path(args.verdict_log) if args.verdict_log else settings.verdict_log
    posting = PostOptions(
        post=args.post,
        ask=terminal_ask(),
        verdict_log=log_path or VerdictLog.beside(config.hub.audit_log),
        as_=args.as_,
        fail_on=args.fail_on,
    )
    try:
        report = await _run(args, make_client, settings, config, registry, posting)
    except BaseExceptionGroup as group:  # the MCP client's task group wraps what the review raised
        raise first_hub_error(group) or group from None
    if isinstance(report, Description):
        return _print_description(args, report)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2, default=str))
    else:
        print(report_markdown(report))
        if report.posted is not None:
            p = report.posted
            what = p.skipped_reason or f"{p.new} new comment(s), {p.already} already posted, {p.outdated} outdated"
            if p.withheld:
                what += f", {len(p.withheld)} withheld"
            print(f"posted: {what}", file=sys.stderr)
        why = report.coverage.not_reviewed_reason()
        if why:
            print(f"not reviewed: {why} (exit 2)", file=sys.stderr)
    return report.exit_code(args.fail_on)


def _print_description(args: argparse.Namespace, description: Description) -> int:
    from model.review.describe_run import description_markdown

    if args.json:
        print(json.dumps(description.to_json(), ensure_ascii=False, indent=2, default=str))
    else:
        print(description_markdown(description))
    if description.posted:
        print(f"posted: {description.posted}", file=sys.stderr)
    if not description.described:
        print(f"not described: {description.failure}; nothing was posted (exit 2)", file=sys.stderr)
    return description.exit_code()


async def _run(
    args: argparse.Namespace,
    make_client: Callable[..., Any],
    settings: Any,
    config: Any,
    registry: Registry,
    posting: PostOptions,
) -> ReviewReport | Description:
    profile = get_profile(args.profile or settings.profile)
    options = ReviewOptions(
        budget_tokens=args.budget_tokens,
        max_calls=args.max_calls,
        model=args.served_name or settings.name,
        min_severity=args.min_severity,
        max_tokens=args.max_tokens or settings.max_tokens,
        thinking_budget=args.thinking_budget or settings.thinking_budget,
        min_coverage=args.min_coverage,
        allowed_hosts=tuple(args.allow_link_host),
        incremental=not args.full,
    )

    def progress(done: int, total: int, message: str) -> None:
        if not args.json:
            print(f"[{done}/{total}] {message}", file=sys.stderr, flush=True)

    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(make_client(args, settings))
        if args.hub_url:
            session = await stack.enter_async_context(open_hub(args.hub_url))
        else:
            # The hub's own policy holds: posting needs writes allowed (MCP_HUB_ALLOW_WRITES=1).
            server = build_server(config, registry=registry, caller=Caller(AGENT_CALLER, "memory", hub_policy(config)))
            session = await stack.enter_async_context(open_hub(server))
        if args.describe:
            from model.review.describe_run import run_describe

            return await run_describe(session, client, profile, args.url, options, lang=args.lang, posting=posting)
        return await run_review(
            session, client, profile, args.url, options, lang=args.lang, posting=posting, progress=progress
        )
