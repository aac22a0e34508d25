"""OpenTelemetry spans around tool calls and model calls; off by default.

On with `[hub] tracing = true` or when `OTEL_EXPORTER_OTLP_ENDPOINT` is set
(`tracing` extra). Spans carry names and outcomes only (tool name, caller name,
transport, model name, token counts): never arguments' values, results or
secrets. Spans are exported over OTLP/HTTP to the standard `OTEL_EXPORTER_OTLP_*`
settings when the exporter is installed; an application (or a test) that set
its own tracer provider keeps it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from typing import Any

from mcp_hub import __version__
from mcp_hub.errors import ConfigError
from mcp_hub.install import install_hint

log = logging.getLogger(__name__)
_tracer: Any = None
_warned = False


@dataclass(slots=True)
class SpanHandle:
    span: Any
    token: Any


def wanted(config_flag: bool) -> bool:
    return config_flag or bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def enable(provider: Any = None, *, required: bool = True) -> None:
    """Start tracing with `provider`, else the global one (set up here if nobody did).

    Without OpenTelemetry installed: `ConfigError` when tracing was asked for (`hub.tracing`), a
    single warning and no tracing when only `OTEL_EXPORTER_OTLP_ENDPOINT` is set (an operator
    injects it into every pod, whether this image has the `tracing` extra or not).
    """
    global _tracer, _warned
    try:
        from opentelemetry import trace

        if provider is None:
            provider = trace.get_tracer_provider()
            if isinstance(provider, trace.ProxyTracerProvider):
                provider = _default_provider()
                trace.set_tracer_provider(provider)
    except ImportError:
        if required:
            raise ConfigError(f"hub.tracing needs OpenTelemetry: {install_hint('tracing')}") from None
        if not _warned:
            log.warning(
                "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed: no tracing "
                f"({install_hint('tracing')})"
            )
            _warned = True
        return
    _tracer = provider.get_tracer("mcp_hub", __version__)


def disable() -> None:
    global _tracer
    _tracer = None


def _default_provider() -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "mcp-hub")})
    )
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        log.warning("tracing is on but no OTLP exporter is installed: %s", install_hint("tracing"))
        return provider
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def start_span(
    name: str, attributes: dict[str, str | int | float | bool], *, current: bool = True
) -> SpanHandle | None:
    """Start a span (None when tracing is off), current unless `current=False`; end it with `end_span`."""
    tracer = _tracer
    if tracer is None:
        return None
    from opentelemetry import context, trace

    span = tracer.start_span(name, attributes=attributes)
    return SpanHandle(span, context.attach(trace.set_span_in_context(span)) if current else None)


def end_span(
    handle: SpanHandle | None, outcome: str = "ok", attributes: dict[str, str | int | float | bool] | None = None
) -> None:
    if handle is None:
        return
    from opentelemetry import context
    from opentelemetry.trace import Status, StatusCode

    handle.span.set_attribute("mcp_hub.outcome", outcome)
    for key, value in (attributes or {}).items():
        handle.span.set_attribute(key, value)
    if outcome != "ok":
        handle.span.set_status(Status(StatusCode.ERROR, outcome))
    handle.span.end()
    if handle.token is not None:
        with contextlib.suppress(ValueError):  # ended in another context (a cancelled task): still recorded
            context.detach(handle.token)
