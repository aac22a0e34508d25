"""`mcp-hub triage REPO`: triage new or unlabelled issues with the self-hosted model.

Markdown on stdout (or `--json`); exit codes: 0 done, 2 the triage could not run.
"""

from __future__ import annotations

import argparse
import json

from mcp_hub.logs import add_log_arguments
from model.app import AgentApp, add_app_arguments
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
    p.add_argument(
        "--apply",
        action="store_true",
        help="add the labels and post the digest, once approved (--approve, a person at the terminal, "
        "or in the approvals queue with --wait-for-approval)",
    )
    p.add_argument("--approve", action="store_true", help="approve those writes without asking (implies --apply)")
    p.add_argument("--slack-channel", help="the digest's channel (must be in [triage] slack_channels)")
    p.add_argument("--lang", choices=["en", "ja"])
    add_app_arguments(p)
    p.add_argument("--verdict-log", help="JSON lines of write decisions")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_log_arguments(p)


async def run_triage_command(args: argparse.Namespace) -> int:
    repo = parse_repo(args.repo, args.forge)
    app = AgentApp.from_args(args)
    triage = take_triage_settings(app.hub_config)
    approve = args.approve or triage.approve
    options = TriageOptions(
        numbers=args.issue,
        max_issues=args.max_issues or triage.max_issues,
        apply=args.apply or approve,
        approve=approve,
        ask=app.ask,
        digest_channel=triage.channel(args.slack_channel),  # a channel outside the allow-list fails here
        lang=args.lang or triage.lang,
        verdict_log=app.verdict_log,
        **app.limits(),
    )
    async with app.client() as client, app.session() as session:
        report: TriageReport = await run_triage(session, client, app.profile, repo, options)
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=2) if args.json else report_markdown(report))
    return 0
