"""Agent steps, model tokens and model-call spans, recorded through the core's metrics and tracing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mcp_hub import metrics, tracing
from mcp_hub.server import HubServer
from tests.model.fake_openai import FakeOpenAI, answer, prompted_call
from tests.model.hubs import MODEL, run_agent
from tests.support.metrics import value

pytestmark = pytest.mark.anyio


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


@pytest.mark.parametrize("stream", [False, True])
async def test_steps_tokens_and_spans(
    fake: FakeOpenAI, base_url: str, hub: HubServer, spans: Any, stream: bool
) -> None:
    metrics.enable()
    before = metrics.render().decode()
    fake.push(prompted_call("postgres_query", {"sql": "SELECT 1"}), answer("one"))
    run = await run_agent(hub, base_url, "What is one?", stream=stream)
    after = metrics.render().decode()
    assert run.result.status == "answered"

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("mcp_hub_agent_steps_total") == 2
    assert delta("mcp_hub_model_tokens_total", model=MODEL, kind="prompt") == 20  # the fake reports 10 per call
    assert delta("mcp_hub_model_tokens_total", model=MODEL, kind="completion") == 40
    assert delta("mcp_hub_model_call_seconds_count", model=MODEL) == 2
    finished = spans.get_finished_spans()
    model_spans = [s for s in finished if s.name == "mcp_hub.model_call"]
    tool_spans = [s for s in finished if s.name == "mcp_hub.tool_call"]
    assert len(model_spans) == 2 and [s.attributes["mcp_hub.tool"] for s in tool_spans] == ["postgres_query"]
    assert model_spans[0].attributes["gen_ai.request.model"] == MODEL
    assert model_spans[0].attributes["gen_ai.usage.output_tokens"] == 20
    assert all("SELECT" not in str(dict(s.attributes)) for s in finished)  # no argument values, no prompts
