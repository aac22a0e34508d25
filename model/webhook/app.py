"""The HTTP side: `POST /webhooks/github`, `POST /webhooks/gitlab`, `GET /healthz`, `GET /livez`, `GET /metrics`.

A delivery is read up to `max_body_bytes` (413 beyond), verified (401 when the signature or token is
missing or wrong), parsed into a job (400 for a malformed payload; 200 "ignored" for events that ask
for nothing), checked against the delivery ids seen (409 for a replay) and queued (202), the two in one
store transaction. A store failure is a 503 and leaves nothing behind (no id remembered), so the forge's
retry gets through.

`/healthz` is readiness (503 while the store is unreachable: take the replica out of rotation);
`/livez` is liveness and touches nothing but the event loop, so an outage of the database never
gets the replicas restarted (the store reconnects by itself).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_hub.logs import EventLog
from model.webhook.backpressure import Backpressure
from model.webhook.events import Ignored, github_job, gitlab_job
from model.webhook.jobs import Job
from model.webhook.metrics import Metrics
from model.webhook.settings import WebhookSettings
from model.webhook.signature import verify_github, verify_gitlab
from model.webhook.store import Store


class TooLarge(Exception):
    pass


@dataclass
class Service:
    settings: WebhookSettings
    store: Store
    metrics: Metrics
    backpressure: Backpressure
    log: EventLog


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def build_app(service: Service) -> Starlette:
    s = service.settings

    def reply(forge: str, status: int, result: str, delivery: str | None = None, **extra: Any) -> Response:
        service.metrics.deliveries.labels(forge, result).inc()
        service.log(
            "delivery",
            "info" if status < 400 else "warning",
            forge=forge,
            delivery=delivery,
            status=status,
            result=result,
            **extra,
        )
        return JSONResponse({"result": result, **extra}, status_code=status)

    async def receive(request: Request, forge: str) -> Response:
        secret = s.github_secret if forge == "github" else s.gitlab_token
        if secret is None:
            return reply(forge, 404, "not configured")
        try:
            body = await _body(request, s.max_body_bytes)
        except TooLarge:
            return reply(forge, 413, "too large", limit=s.max_body_bytes)
        headers = request.headers
        if forge == "github":
            genuine = verify_github(secret.get_secret_value(), body, headers.get("x-hub-signature-256"))
            delivery, event = headers.get("x-github-delivery"), headers.get("x-github-event", "")
        else:
            genuine = verify_gitlab(secret.get_secret_value(), headers.get("x-gitlab-token"))
            delivery = headers.get("x-gitlab-event-uuid") or headers.get("idempotency-key")
            event = headers.get("x-gitlab-event", "")
        if not genuine:
            return reply(forge, 401, "unverified")
        if not delivery or len(delivery) > 200:
            return reply(forge, 400, "no delivery id")
        if forge == "github" and event == "ping":
            return reply(forge, 200, "pong", delivery)
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("the payload is not a JSON object")
            job: Job = github_job(event, payload) if forge == "github" else gitlab_job(event, payload)
        except Ignored as why:
            return reply(forge, 200, "ignored", delivery, reason=str(why))
        except ValueError as exc:
            return reply(forge, 400, "malformed", delivery, reason=str(exc)[:200])
        if not {"review": s.review, "triage": s.triage, "command": s.commands}[job.kind]:
            return reply(forge, 200, "ignored", delivery, reason=f"{job.kind} is off in [webhook]")
        # Remembered only once it is a job (a malformed or ignored delivery sent again gets the same answer),
        # and in the same transaction as its job: on a store failure neither happened, so the retry gets in.
        try:
            queued = await service.store.accept(f"{forge}:{delivery}", s.delivery_ttl_s, job)
        except Exception:
            return reply(forge, 503, "store unavailable", delivery)
        if queued is None:
            return reply(forge, 409, "replayed", delivery)
        return reply(forge, 202, queued.status, delivery, key=job.key, superseded=queued.superseded)

    async def github(request: Request) -> Response:
        return await receive(request, "github")

    async def gitlab(request: Request) -> Response:
        return await receive(request, "gitlab")

    async def healthz(request: Request) -> Response:
        try:
            counts = await service.store.counts()
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "store": type(exc).__name__}, status_code=503)
        pressure = service.backpressure.to_json()
        status = "degraded" if pressure["active"] else "ok"
        return JSONResponse({"status": status, "queue": counts, "backpressure": pressure})

    async def livez(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def metrics(request: Request) -> Response:
        try:
            counts = await service.store.counts()
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "store": type(exc).__name__}, status_code=503)
        body, content_type = service.metrics.render(counts, service.backpressure.active)
        return Response(body, media_type=content_type)

    return Starlette(
        routes=[
            Route("/webhooks/github", github, methods=["POST"]),
            Route("/webhooks/gitlab", gitlab, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/livez", livez, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )
