"""Prometheus metrics of the hub, served at `/metrics` when `[http] metrics = true`.

Off by default: every `record_*` function is a no-op until `enable()` runs, and
`prometheus_client` (the `metrics` extra) is imported only then. The model's
code records agent steps and model tokens through the same functions (the model
may import the core; never the other way round).

    mcp_hub_tool_calls_total{tool,outcome}          calls by outcome (ok, denied, rate_limited, …)
    mcp_hub_tool_errors_total{tool}                 calls whose outcome was not ok
    mcp_hub_tool_call_seconds{tool}                 latency histogram
    mcp_hub_upstream_ratelimit_remaining{connector,instance}
                                                    requests left in the upstream's window, from its headers
    mcp_hub_agent_steps_total                       agent loop steps
    mcp_hub_model_tokens_total{model,kind}          prompt / completion tokens reported by the model server
    mcp_hub_model_call_seconds{model}               model call latency histogram
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from mcp_hub.errors import ConfigError
from mcp_hub.install import install_hint

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True, slots=True)
class _Metrics:
    registry: Any
    tool_calls: Any
    tool_errors: Any
    tool_seconds: Any
    ratelimit_remaining: Any
    agent_steps: Any
    model_tokens: Any
    model_seconds: Any
    federated_calls: Any = None


_metrics: _Metrics | None = None
_lock = threading.Lock()


def enable() -> None:
    """Create the hub's registry (idempotent): a registry of its own, not prometheus_client's global one."""
    global _metrics
    with _lock:
        if _metrics is not None:
            return
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        except ImportError:
            raise ConfigError(f"http.metrics needs prometheus-client: {install_hint('metrics')}") from None
        registry = CollectorRegistry(auto_describe=True)
        _metrics = _Metrics(
            registry=registry,
            tool_calls=Counter("mcp_hub_tool_calls", "Tool calls by outcome.", ["tool", "outcome"], registry=registry),
            tool_errors=Counter("mcp_hub_tool_errors", "Tool calls that did not succeed.", ["tool"], registry=registry),
            tool_seconds=Histogram(
                "mcp_hub_tool_call_seconds", "Tool call latency.", ["tool"], buckets=_BUCKETS, registry=registry
            ),
            ratelimit_remaining=Gauge(
                "mcp_hub_upstream_ratelimit_remaining",
                "Requests left in the upstream's rate-limit window (from its response headers).",
                ["connector", "instance"],
                registry=registry,
            ),
            agent_steps=Counter("mcp_hub_agent_steps", "Agent loop steps.", registry=registry),
            model_tokens=Counter(
                "mcp_hub_model_tokens",
                "Model tokens by kind (prompt, completion).",
                ["model", "kind"],
                registry=registry,
            ),
            model_seconds=Histogram(
                "mcp_hub_model_call_seconds", "Model call latency.", ["model"], buckets=_BUCKETS, registry=registry
            ),
            federated_calls=Counter(
                "mcp_hub_federated_calls",
                "Calls forwarded to federated MCP servers, by server and outcome.",
                ["server", "outcome"],
                registry=registry,
            ),
        )


def enabled() -> bool:
    return _metrics is not None


def record_tool_call(tool: str, outcome: str, seconds: float) -> None:
    m = _metrics
    if m is None:
        return
    m.tool_calls.labels(tool, outcome).inc()
    if outcome != "ok":
        m.tool_errors.labels(tool).inc()
    m.tool_seconds.labels(tool).observe(seconds)


def record_federated_call(server: str, outcome: str) -> None:
    m = _metrics
    if m is None or m.federated_calls is None:
        return
    m.federated_calls.labels(server, outcome).inc()


def record_rate_limit(connector: str, instance: str, remaining: int) -> None:
    m = _metrics
    if m is not None:
        m.ratelimit_remaining.labels(connector, instance).set(remaining)


def record_agent_step() -> None:
    m = _metrics
    if m is not None:
        m.agent_steps.inc()


def record_model_call(model: str, seconds: float, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
    m = _metrics
    if m is None:
        return
    m.model_seconds.labels(model).observe(seconds)
    if prompt_tokens:
        m.model_tokens.labels(model, "prompt").inc(prompt_tokens)
    if completion_tokens:
        m.model_tokens.labels(model, "completion").inc(completion_tokens)


def render() -> bytes:
    """The Prometheus text exposition of everything recorded so far."""
    m = _metrics
    if m is None:
        return b""
    from prometheus_client import generate_latest

    data: bytes = generate_latest(m.registry)
    return data
