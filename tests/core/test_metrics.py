"""/metrics (Prometheus text) after real calls over Streamable HTTP, and OpenTelemetry spans of tool calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from mcp_hub import metrics, tracing
from tests.core.test_http import ADMIN, READER, client_for, hub_app
from tests.support.http_server import serve_in_thread
from tests.support.metrics import value

pytestmark = pytest.mark.anyio


@pytest.fixture
def metrics_hub(tmp_path: Path) -> Iterator[str]:
    with serve_in_thread(hub_app(tmp_path, "http", {"MCP_HUB_HTTP__METRICS": "true"})) as base:
        yield base


async def scrape(base: str, token: str | None = ADMIN) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.get(f"{base}/metrics", headers={"authorization": f"Bearer {token}"} if token else {})


async def test_tool_calls_errors_and_latency_per_tool(metrics_hub: str) -> None:
    before = (await scrape(metrics_hub)).text
    client, http = client_for(f"{metrics_hub}/mcp", READER)
    async with http, client:
        await client.call_tool("notes_list_notes", {})
        await client.call_tool("notes_list_notes", {})
        for hidden_or_unknown in ("notes_add_note", "no_such_tool"):  # denied for the reader; unknown
            with pytest.raises(MCPError):
                await client.call_tool(hidden_or_unknown, {"text": "no"})
    response = await scrape(metrics_hub)
    after = response.text
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("mcp_hub_tool_calls_total", tool="notes_list_notes", outcome="ok") == 2
    assert delta("mcp_hub_tool_calls_total", tool="notes_add_note", outcome="denied") == 1
    assert delta("mcp_hub_tool_calls_total", tool="(unknown)", outcome="unknown_tool") == 1
    assert delta("mcp_hub_tool_errors_total", tool="notes_add_note") == 1
    assert delta("mcp_hub_tool_errors_total", tool="notes_list_notes") == 0
    assert delta("mcp_hub_tool_call_seconds_count", tool="notes_list_notes") == 2
    assert delta("mcp_hub_tool_call_seconds_sum", tool="notes_list_notes") > 0
    assert "no_such_tool" not in after  # callers cannot mint label values


async def test_metrics_need_auth_unless_public(metrics_hub: str, tmp_path: Path) -> None:
    assert (await scrape(metrics_hub, None)).status_code == 401
    assert (await scrape(metrics_hub, "wrong")).status_code == 401
    env = {"MCP_HUB_HTTP__METRICS": "1", "MCP_HUB_HTTP__METRICS_PUBLIC": "1"}
    with serve_in_thread(hub_app(tmp_path, "http", env)) as base:
        public = await scrape(base, None)
    assert public.status_code == 200 and "mcp_hub_tool_calls_total" in public.text


async def test_no_metrics_route_unless_configured(tmp_path: Path) -> None:
    with serve_in_thread(hub_app(tmp_path, "http")) as base:
        response = await scrape(base)
    assert response.status_code == 404


@pytest.fixture
def spans() -> Iterator[Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(provider)
    try:
        yield exporter
    finally:
        tracing.disable()


async def test_tool_call_spans_without_argument_values(spans: Any, make_hub: Any) -> None:
    from mcp import Client

    async with Client(make_hub()) as client:
        await client.call_tool("notes_get_note", {"note_id": 0})
        await client.call_tool("notes_get_note", {"note_id": 99})  # an error
    finished = [s for s in spans.get_finished_spans() if s.name == "mcp_hub.tool_call"]
    assert [(s.attributes["mcp_hub.tool"], s.attributes["mcp_hub.outcome"]) for s in finished] == [
        ("notes_get_note", "ok"),
        ("notes_get_note", "not_found"),
    ]
    assert finished[1].status.status_code.name == "ERROR"
    for span in finished:
        assert set(span.attributes) == {"mcp_hub.tool", "mcp_hub.caller", "mcp_hub.transport", "mcp_hub.outcome"}
        assert "99" not in str(dict(span.attributes))


def test_tracing_is_off_by_default() -> None:
    assert tracing.start_span("x", {}) is None


def test_recording_is_a_no_op_until_enabled_then_renders() -> None:
    metrics.record_model_call("m", 0.1, 1, 2)  # may already be enabled by another test: must not raise
    metrics.enable()
    metrics.enable()  # idempotent
    assert metrics.enabled() and b"mcp_hub_model_tokens_total" in metrics.render()
