"""Wiring `mcp-hub webhook` together: settings, store, model client, worker and HTTP server."""

from __future__ import annotations

import argparse
import logging
import os
import signal

import anyio

from mcp_hub.config import load_config
from mcp_hub.errors import ConfigError
from mcp_hub.redaction import Redactor
from mcp_hub.registry import Registry
from model.gate import VerdictLog
from model.profiles import get_profile
from model.settings import take_model_settings
from model.triage.settings import take_triage_settings
from model.webhook.app import Service, build_app
from model.webhook.backpressure import Backpressure, MeteredClient
from model.webhook.logs import JsonLog
from model.webhook.metrics import Metrics
from model.webhook.runner import JobRunner
from model.webhook.settings import store_url as settings_store_url
from model.webhook.settings import take_webhook_settings
from model.webhook.store import open_store
from model.webhook.worker import Worker


async def serve(args: argparse.Namespace) -> int:
    from model.endpoint import resolve_endpoint

    for noisy in ("httpx", "httpx2"):  # one line per request: our own JSON lines say what happened
        logging.getLogger(noisy).setLevel(logging.WARNING)
    registry = Registry.discover()
    config = load_config(args.config, ecosystem_env=registry.ecosystem_env())
    settings = take_webhook_settings(config)
    model = take_model_settings(config)
    triage = take_triage_settings(config)
    store_url = args.store or settings_store_url(settings)
    secrets = [x.get_secret_value() for x in (settings.github_secret, settings.gitlab_token) if x is not None]
    log = JsonLog(Redactor([*secrets, store_url]))
    if not args.worker_only and not secrets:
        raise ConfigError("set [webhook] github_secret_file or gitlab_token_file: unverified deliveries are refused")
    if settings.review and not config.hub.allow_writes and not args.no_worker:
        raise ConfigError("reviews are posted: allow writes (MCP_HUB_ALLOW_WRITES=1), or set [webhook] review = false")
    triage.channel(None)  # a digest channel outside the allow-list fails now, not at the first issue
    store = open_store(store_url, prefix=settings.prefix, done_ttl_s=settings.done_ttl_s)
    metrics = Metrics()
    pressure = Backpressure(settings.slow_call_s, settings.backoff_max_s)
    backend = args.backend or model.backend
    endpoint = resolve_endpoint(backend, args.base_url or model.base_url, model.api_key)
    stop = anyio.Event()
    await store.open()
    try:
        async with MeteredClient(endpoint, backpressure=pressure, histogram=metrics.model_calls) as client:
            runner = JobRunner(
                config,
                registry,
                client,
                get_profile(args.profile or model.profile),
                args.served_name or model.name,
                triage,
                verdict_log=model.verdict_log or VerdictLog.beside(config.hub.audit_log),
            )
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

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))  # type: ignore[arg-type]
    async with anyio.create_task_group() as tg:

        async def shutdown() -> None:
            await stop.wait()
            server.should_exit = True

        tg.start_soon(shutdown)
        await server.serve()
        stop.set()
