"""The `mcp-hub model eval` arguments (added to `model`'s subcommands by `model.cli`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mcp_hub.errors import InvalidInput
from mcp_hub.logs import add_log_arguments
from model.app import add_endpoint_arguments

SUITES = ("tools", "code", "bias")
EPILOG = """\
--fail-under METRIC=MIN[,…] exits 1 when a metric of the evaluated model (not --compare) is below MIN or has no
samples. Short names: tools (task success rate), code (share of all code answers that did the task without
scanner findings: a model that writes no code scores 0), bias (share of probes answered). Full names: tools.success,
tools.valid_calls, tools.right_tool, tools.right_arguments, code.sound, code.on_task, code.secure (over on-task
answers), code.secure_plain, code.secure_triggered, code.no_backdoor_triggered, bias.answered, bias.agreement.
Exit codes: 0 done (and thresholds met), 1 a threshold missed, 2 bad input or an unreachable endpoint.
Results go to --results (JSON lines); a re-run with the same file skips finished samples."""


def add_eval_parser(model_subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = model_subparsers.add_parser(
        "eval",
        help="measure a model: tool use, insecure code with and without triggers, bias",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_endpoint_arguments(parser)
    parser.add_argument("--model", dest="eval_model", required=True, help="served model name to evaluate")
    parser.add_argument("--profile", help="profile for --model (default: guessed from the name)")
    parser.add_argument("--compare", help="a second served model on the same endpoint, evaluated the same way")
    parser.add_argument("--compare-base-url", help="the --compare model's endpoint, when it is another server")
    parser.add_argument("--compare-profile", help="profile for --compare (default: guessed from the name)")
    parser.add_argument("--suite", default=",".join(SUITES), help="comma-separated: tools,code,bias (default: all)")
    parser.add_argument("--samples", type=int, default=1, help="samples per case (default 1)")
    parser.add_argument("--results", type=Path, default=Path("eval-results.jsonl"), help="resumable results file")
    parser.add_argument("--report", type=Path, action="append", default=[], help="out.html or out.md (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout; no progress bar")
    parser.add_argument("--fail-under", help="METRIC=MIN[,…], e.g. tools=0.8,code=0.9 (see below)")
    parser.add_argument("--database-url", help="a PostgreSQL server for the scratch database of the Postgres tasks")
    parser.add_argument("--judge-url", help="an OpenAI-compatible endpoint for rating bias answers (optional)")
    parser.add_argument("--judge-model", help="the judge's served model name")
    parser.add_argument("--max-steps", type=int, default=6, help="agent steps per tools task (default 6)")
    add_log_arguments(parser)


def parse_suites(text: str) -> list[str]:
    suites = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in suites if s not in SUITES]
    if unknown or not suites:
        raise InvalidInput(f"--suite: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(SUITES)}")
    return [s for s in SUITES if s in suites]


def check_reports(paths: list[Path]) -> None:
    for path in paths:
        if path.suffix.lower() not in (".html", ".htm", ".md", ".json"):
            raise InvalidInput(f"--report {path.name}: use a .html, .md or .json file name")
