"""`/metrics` in Prometheus' text format (prometheus-client, a registry of the service's own)."""

from __future__ import annotations

from typing import Any


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        ns = "mcp_hub_webhook"
        self.queue_depth = Gauge(
            f"{ns}_queue_depth", "Jobs waiting (queued or with an expired lease)", registry=self.registry
        )
        self.running = Gauge(f"{ns}_running_jobs", "Jobs running (live leases, all workers)", registry=self.registry)
        self.backpressure = Gauge(
            f"{ns}_backpressure",
            "1 while this worker holds off claiming (model endpoint slow or failing)",
            registry=self.registry,
        )
        self.jobs = Counter(f"{ns}_jobs", "Jobs finished by this worker", ["kind", "outcome"], registry=self.registry)
        self.duration = Histogram(
            f"{ns}_job_duration_seconds",
            "Job run time",
            ["kind"],
            registry=self.registry,
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800),
        )
        self.model_calls = Histogram(
            f"{ns}_model_call_seconds",
            "Model call latency",
            registry=self.registry,
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300),
        )
        self.deliveries = Counter(
            f"{ns}_deliveries", "Webhook deliveries by result", ["forge", "result"], registry=self.registry
        )

    def render(self, counts: dict[str, int], backpressure: bool) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        self.queue_depth.set(counts.get("queued", 0))
        self.running.set(counts.get("running", 0))
        self.backpressure.set(1 if backpressure else 0)
        body: Any = generate_latest(self.registry)
        return bytes(body), CONTENT_TYPE_LATEST
