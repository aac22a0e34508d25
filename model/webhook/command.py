"""`mcp-hub webhook`: the webhook receiver and its worker in one process (or either alone).

Stops on SIGINT/SIGTERM: the HTTP server drains, running jobs go back to the queue.
"""

from __future__ import annotations

import argparse

from mcp_hub.logs import add_log_arguments
from model.app import add_app_arguments


def add_webhook_command(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("webhook", help="receive GitHub/GitLab webhooks; review PRs and triage issues")
    p.add_argument("--config", help="the hub's TOML config file ([webhook], [triage], [model], connectors)")
    p.add_argument("--host", help="bind address (default [webhook] host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default [webhook] port, 8090)")
    p.add_argument("--store", help="sqlite:///FILE, postgresql://… or redis://… (default [webhook] store)")
    p.add_argument("--concurrency", type=int, help="jobs at once in this process (default [webhook] concurrency)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--no-worker", action="store_true", help="only receive and queue")
    mode.add_argument("--worker-only", action="store_true", help="only run queued jobs (no HTTP)")
    add_app_arguments(p, hub_url=False)
    add_log_arguments(p, level="INFO", fmt="json")


def run_webhook_command(args: argparse.Namespace) -> int:
    import anyio

    from model.webhook.service import serve

    return anyio.run(serve, args)
