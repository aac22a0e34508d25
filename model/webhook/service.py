"""Wiring `mcp-hub webhook` together: settings, store, model client, worker and HTTP server."""

from __future__ import annotations

import argparse
import os
import signal

import anyio

from mcp_hub.errors import ConfigError
from mcp_hub.logs import EventLog, protect
from mcp_hub.redaction import Redactor
from model.app import AgentApp
from model.triage.settings import take_triage_settings
from model.webhook.app import Service, build_app
from model.webhook.backpressure import Backpressure, MeteredClient
from model.webhook.metrics import Metrics
from model.webhook.runner import ACCESS_TOOLSETS, JobRunner
from model.webhook.settings import store_url as settings_store_url
from model.webhook.settings import take_webhook_settings
from model.webhook.store import open_store
from model.webhook.worker import Worker


async def serve(args: argparse.Namespace) -> int:
    # The hub, built once (a session per job), with the forge's write-access lookups for comment commands.
    # (httpx's per-request lines are held back by mcp_hub.logs unless --log-level DEBUG.)
    app = AgentApp.from_args(args, interactive=False, extra_toolsets=ACCESS_TOOLSETS)
    config = app.hub_config
    settings = take_webhook_settings(config)
    triage = take_triage_settings(config)
    store_url = args.store or settings_store_url(settings)
    secrets = [x.get_secret_value() for x in (settings.github_secret, settings.gitlab_token) if x is not None]
    protect([*secrets, store_url])  # in every log line, the libraries' included
    log = EventLog(Redactor([*secrets, store_url]))
    if not args.worker_only and not secrets:
        raise ConfigError("set [webhook] github_secret_file or gitlab_token_file: unverified deliveries are refused")
    if (settings.review or settings.commands) and not config.hub.allow_writes and not args.no_worker:
        raise ConfigError(
            "reviews and command answers are posted: allow writes (MCP_HUB_ALLOW_WRITES=1), "
            "or set [webhook] review = false and commands = false"
        )
    triage.channel(None)  # a digest channel outside the allow-list fails now, not at the first issue
    store = open_store(store_url, prefix=settings.prefix, done_ttl_s=settings.done_ttl_s)
    metrics = Metrics()
    pressure = Backpressure(settings.slow_call_s, settings.backoff_max_s)
    stop = anyio.Event()
    await store.open()
    try:
        # The approvals queue (when the service waits for a person) is opened once, and checked, at start.
        async with (
            app.approvals(),
            MeteredClient(app.endpoint(), backpressure=pressure, histogram=metrics.model_calls) as client,
        ):
            runner = JobRunner(app, client, triage)
            worker = Worker(
                store,
                runner,
                concurrency=args.concurrency or settings.concurrency,
                lease_s=settings.lease_s,
                poll_s=settings.poll_s,
                max_attempts=settings.max_attempts,
                backpressure=pressure,
                metrics=metrics,
                log=log,
            )
            service = Service(settings, store, metrics, pressure, log)
            host, port = args.host or settings.host, args.port if args.port is not None else settings.port
            log("start", pid=os.getpid(), worker=worker.id, host=host, port=port, store=store_url.split("://")[0])
            async with anyio.create_task_group() as tg:
                tg.start_soon(_signals, stop)
                if not args.no_worker:
                    tg.start_soon(worker.run, stop)
                if not args.worker_only:
                    tg.start_soon(_http, build_app(service), host, port, stop)
                await stop.wait()
                tg.cancel_scope.deadline = anyio.current_time() + 30
    finally:
        with anyio.CancelScope(shield=True):
            await store.close()
    log("stop", pid=os.getpid())
    return 0


async def _signals(stop: anyio.Event) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
        async for _ in received:
            stop.set()
            return


async def _http(app: object, host: str, port: int, stop: anyio.Event) -> None:
    import uvicorn

    # log_config=None: uvicorn's records go through the one handler (--log-format), not its own
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", log_config=None, lifespan="off")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:

        async def shutdown() -> None:
            await stop.wait()
            server.should_exit = True

        tg.start_soon(shutdown)
        await server.serve()
        stop.set()
