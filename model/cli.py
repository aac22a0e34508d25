"""`mcp-hub model serve|check|eval`, `agent`, `review`, `triage` and `webhook`: registration functions
for the `mcp_hub.commands` entry-point group (pyproject.toml), one per top-level command. Each adds its
parser and sets `handler=run`; the hub's CLI imports this module only when one of them is asked for.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import anyio

from mcp_hub.commands import Subparsers
from mcp_hub.errors import HubError
from mcp_hub.install import install_hint
from mcp_hub.logs import add_log_arguments
from model.profiles import PROFILES, get_profile
from model.serve import ServeOptions, build_command, missing_template, serve_env

#: The top-level commands this module adds (and `run` dispatches).
COMMANDS = ("model", "agent", "review", "triage", "webhook")


def register_model(subparsers: Subparsers) -> None:
    from model.app import add_endpoint_arguments

    model = subparsers.add_parser("model", help="serve or check a self-hosted model")
    sub = model.add_subparsers(dest="model_command", required=True)
    serve = sub.add_parser("serve", help="run (or print) the vllm serve command for a profile")
    serve.add_argument("profile", help=f"a profile ({', '.join(PROFILES)}) or a Hugging Face id")
    serve.add_argument("--tp", type=int, help="tensor parallel size (default: visible GPUs)")
    serve.add_argument("--max-model-len", type=int)
    serve.add_argument("--lora", action="append", default=[], metavar="NAME=PATH")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--chat-template-dir", type=Path, help="where vLLM's tool chat templates are")
    serve.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    check = sub.add_parser("check", help="probe an OpenAI-compatible endpoint")
    add_endpoint_arguments(check)
    check.add_argument("--model", dest="served_model", help="served model name (default: the first listed)")
    from model.eval.options import add_eval_parser

    add_eval_parser(sub)
    model.set_defaults(handler=run)


def register_agent(subparsers: Subparsers) -> None:
    from model.app import add_app_arguments

    agent = subparsers.add_parser("agent", help="run the agent on a task through the hub")
    agent.add_argument("task")
    add_app_arguments(agent)
    agent.add_argument("--max-steps", type=int)
    agent.add_argument("--approve", action="append", default=[], metavar="TOOL_GLOB")
    agent.add_argument("--show-reasoning", action="store_true")
    agent.add_argument("--verdict-log", type=Path)
    agent.add_argument("--json", action="store_true", help="print a machine-readable transcript")
    add_log_arguments(agent)
    agent.set_defaults(handler=run)


def register_review(subparsers: Subparsers) -> None:
    from model.review.command import add_review_command

    add_review_command(subparsers)
    subparsers.choices["review"].set_defaults(handler=run)


def register_triage(subparsers: Subparsers) -> None:
    from model.triage.command import add_triage_command

    add_triage_command(subparsers)
    subparsers.choices["triage"].set_defaults(handler=run)


def register_webhook(subparsers: Subparsers) -> None:
    from model.webhook.command import add_webhook_command

    add_webhook_command(subparsers)
    subparsers.choices["webhook"].set_defaults(handler=run)


def add_commands(subparsers: Subparsers) -> None:
    """All of this module's commands at once (a parser of their own, e.g. in tests)."""
    for register in (register_model, register_agent, register_review, register_triage, register_webhook):
        register(subparsers)


def run(args: argparse.Namespace) -> int:
    try:
        if args.command == "model" and args.model_command == "serve":
            return _serve(args)
        if args.command == "model" and args.model_command == "check":
            return anyio.run(_check, args)
        if args.command == "model" and args.model_command == "eval":
            return anyio.run(_eval, args)
        if args.command == "agent":
            return anyio.run(_agent, args)
        if args.command == "review":
            return anyio.run(_review, args)
        if args.command == "triage":
            return anyio.run(_triage, args)
        if args.command == "webhook":
            return _webhook(args)
    except HubError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    raise SystemExit(f"unknown command {args.command}")


def _serve(args: argparse.Namespace) -> int:
    profile = get_profile(args.profile)
    options = ServeOptions(
        tp=args.tp,
        max_model_len=args.max_model_len,
        loras=tuple(args.lora),
        host=args.host,
        port=args.port,
        chat_template_dir=args.chat_template_dir,
        api_key_env="VLLM_API_KEY" if os.environ.get("VLLM_API_KEY") else None,
    )
    command = build_command(profile, options)
    if args.dry_run:
        print(" ".join(_quote(part) for part in command))
        if options.api_key_env:
            print(
                "the API key reaches vLLM as VLLM_API_KEY in its environment, not on its command line", file=sys.stderr
            )
        return 0
    template = missing_template(profile, options)
    if template is not None:
        print(
            f"error: chat template {template} not found: pass --chat-template-dir (vLLM's examples/)", file=sys.stderr
        )
        return 2
    if not _has_vllm():
        print(
            f"error: vLLM is not installed here (on a GPU machine, {install_hint('vllm')})",
            file=sys.stderr,
        )
        return 2
    # The key reaches vLLM through its environment (VLLM_API_KEY), never argv (visible in `ps`).
    return subprocess.call(command, env=serve_env(options))  # noqa: S603 - our own argument list, no shell


def _has_vllm() -> bool:
    import importlib.util
    import shutil

    return shutil.which("vllm") is not None or importlib.util.find_spec("vllm") is not None


def _quote(part: str) -> str:
    import shlex

    return part if part.startswith("$") else shlex.quote(part)


async def _check(args: argparse.Namespace) -> int:
    from model.app import endpoint_for, model_settings
    from model.check import check_endpoint
    from model.client import ModelClient

    async with ModelClient(endpoint_for(model_settings(args))) as client:
        report = await check_endpoint(client, args.served_model)
    print(json.dumps(report, indent=2))
    return 0


async def _review(args: argparse.Namespace) -> int:
    from model.review.command import run_review_command

    return await run_review_command(args)


async def _triage(args: argparse.Namespace) -> int:
    from model.triage.command import run_triage_command

    return await run_triage_command(args)


def _webhook(args: argparse.Namespace) -> int:
    from model.webhook.command import run_webhook_command

    return run_webhook_command(args)


async def _agent(args: argparse.Namespace) -> int:
    from model.runner import run_agent_command

    return await run_agent_command(args)


async def _eval(args: argparse.Namespace) -> int:
    from model.eval.command import run_eval_command

    return await run_eval_command(args)
