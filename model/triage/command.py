"""`mcp-hub triage REPO`: triage new or unlabelled issues with the self-hosted model.

Markdown on stdout (or `--json`); exit codes: 0 done, 2 the triage could not run.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from mcp_hub.config import load_config
from mcp_hub.logs import add_log_arguments
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import build_server, hub_policy
from model.approvals import terminal_ask
from model.gate import VerdictLog
from model.hub import AGENT_CALLER, open_hub
from model.profiles import get_profile
from model.review.hubcalls import first_hub_error
from model.settings import take_model_settings
from model.triage.repo import parse_repo
from model.triage.report import TriageReport, report_markdown
from model.triage.settings import take_triage_settings
from model.triage.workflow import TriageOptions, run_triage


def add_triage_command(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("triage", help="triage new or unlabelled issues with the self-hosted model")
    p.add_argument("repo", help="owner/name (GitHub), gitlab:group/project, or the repository's URL")
    p.add_argument("--forge", choices=["github", "gitlab"], help="when the URL's host does not say")
    p.add_argument("--issue", type=int, action="append", metavar="N", help="triage this issue (repeatable)")
    p.add_argument("--max-issues", type=int, help="unlabelled issues per run (default: [triage] max_issues, 10)")
    p.add_argument("--apply", action="store_true", help="add the labels and post the digest, once approved")
    p.add_argument("--approve", action="store_true", help="approve those writes without asking (implies --apply)")
    p.add_argument("--slack-channel", help="the digest's channel (must be in [triage] slack_channels)")
    p.add_argument("--lang", choices=["en", "ja"])
    p.add_argument("--model", dest="profile", help="profile name or Hugging Face id")
    p.add_argument("--served-name", help="the model name the server expects (default: the profile's id)")
    p.add_argument("--base-url", help="OpenAI-compatible base URL (default: the backend's)")
    p.add_argument("--backend", choices=["vllm", "azure", "ollama", "llamacpp", "custom"])
    p.add_argument("--config", help="the hub's TOML config file")
    p.add_argument("--hub-url", help="a hub's Streamable HTTP URL instead of the in-process hub")
    p.add_argument("--verdict-log", help="JSON lines of write decisions")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_log_arguments(p)


async def run_triage_command(args: argparse.Namespace, make_client: Callable[..., Any]) -> int:
    repo = parse_repo(args.repo, args.forge)
    registry = Registry.discover()
    config = load_config(args.config, ecosystem_env=registry.ecosystem_env())
    settings = take_model_settings(config)
    triage = take_triage_settings(config)
    approve = args.approve or triage.approve
    log_path = Path(args.verdict_log) if args.verdict_log else settings.verdict_log
    options = TriageOptions(
        numbers=args.issue,
        max_issues=args.max_issues or triage.max_issues,
        apply=args.apply or approve,
        approve=approve,
        ask=terminal_ask(),
        digest_channel=triage.channel(args.slack_channel),  # a channel outside the allow-list fails here
        lang=args.lang or triage.lang,
        model=args.served_name or settings.name,
        verdict_log=log_path or VerdictLog.beside(config.hub.audit_log),
    )
    profile = get_profile(args.profile or settings.profile)
    try:
        async with AsyncExitStack() as stack:
            client = await stack.enter_async_context(make_client(args, settings))
            if args.hub_url:
                session = await stack.enter_async_context(open_hub(args.hub_url))
            else:
                caller = Caller(AGENT_CALLER, "memory", hub_policy(config))
                session = await stack.enter_async_context(
                    open_hub(build_server(config, registry=registry, caller=caller))
                )
            report: TriageReport = await run_triage(session, client, profile, repo, options)
    except BaseExceptionGroup as group:
        raise first_hub_error(group) or group from None
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=2) if args.json else report_markdown(report))
    return 0
