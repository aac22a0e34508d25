"""`mcp-hub review URL`: review a GitHub pull request or a GitLab merge request with the self-hosted model.

Markdown on stdout (or `--json`), progress on stderr; `--post` publishes one review.
Exit codes: 0 done, 1 something at or above `--fail-on` was found in the diff, 2 the change was not
reviewed (below `--min-coverage`, or the model failed on a file: fails closed) or the review could not run.
`--describe` writes the change's description and walkthrough instead (`model.review.describe_run`).
"""

from __future__ import annotations

import argparse
import json

from mcp_hub.logs import add_log_arguments
from mcp_hub.logs import progress as show_progress
from model.app import AgentApp, add_app_arguments
from model.review.engine import ReviewOptions
from model.review.render import report_markdown
from model.review.target import parse_target
from model.review.workflow import PostOptions, run_review


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
    add_app_arguments(review)
    review.add_argument("--budget-tokens", type=int, help="diff tokens per model call (default: from the profile)")
    review.add_argument("--max-calls", type=int, default=24, help="model calls at most (default 24)")
    review.add_argument("--min-severity", choices=["low", "medium", "high", "critical"], default="low")
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
    add_log_arguments(review)


def _share(value: str) -> float:
    share = float(value)
    if not 0.0 <= share <= 1.0:
        raise argparse.ArgumentTypeError("a share between 0 and 1")
    return share


async def run_review_command(args: argparse.Namespace) -> int:
    parse_target(args.url)  # a bad URL fails before anything starts
    app = AgentApp.from_args(args)
    options = ReviewOptions(
        budget_tokens=args.budget_tokens,
        max_calls=args.max_calls,
        min_severity=args.min_severity,
        min_coverage=args.min_coverage,
        allowed_hosts=tuple(args.allow_link_host),
        incremental=not args.full,
        **app.limits(),
    )
    posting = PostOptions(post=args.post, ask=app.ask, verdict_log=app.verdict_log, as_=args.as_, fail_on=args.fail_on)
    if args.describe:
        return await _describe(args, app, options, posting)

    def progress(done: int, total: int, message: str) -> None:
        if not args.json:
            show_progress(f"[{done}/{total}] {message}", done=done, total=total)

    async with app.client() as client, app.session() as session:
        report = await run_review(
            session, client, app.profile, args.url, options, lang=args.lang, posting=posting, progress=progress
        )
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2, default=str))
    else:
        print(report_markdown(report))
        if report.posted is not None:
            p = report.posted
            what = p.skipped_reason or f"{p.new} new comment(s), {p.already} already posted, {p.outdated} outdated"
            if p.withheld:
                what += f", {len(p.withheld)} withheld"
            show_progress(f"posted: {what}")
        why = report.coverage.not_reviewed_reason()
        if why:
            show_progress(f"not reviewed: {why} (exit 2)")
    return report.exit_code(args.fail_on)


async def _describe(args: argparse.Namespace, app: AgentApp, options: ReviewOptions, posting: PostOptions) -> int:
    from model.review.describe_run import description_markdown, run_describe

    async with app.client() as client, app.session() as session:
        described = await run_describe(session, client, app.profile, args.url, options, lang=args.lang, posting=posting)
    if args.json:
        print(json.dumps(described.to_json(), ensure_ascii=False, indent=2, default=str))
    else:
        print(description_markdown(described))
    if described.posted:
        show_progress(f"posted: {described.posted}")
    if not described.described:
        show_progress(f"not described: {described.failure}; nothing was posted (exit 2)")
    return described.exit_code()
