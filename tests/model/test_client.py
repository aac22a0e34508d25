"""The model client against the fake server: reasoning shapes, streaming, errors and retries."""

from __future__ import annotations

import pytest

from model.client import ClientOptions, ModelClient
from model.endpoint import resolve_endpoint
from model.errors import ContextOverflow, EndpointUnavailable, ModelNotLoaded, ModelRateLimited, ModelTimeout
from model.reasoning import ThinkSplitter, split_message
from tests.model.conftest import MODEL, make_client
from tests.model.fake_openai import FakeOpenAI, Reply, native_call
from tests.support.http_server import free_port

pytestmark = pytest.mark.anyio

SHAPES = ["reasoning", "reasoning_content", "think", "think_open"]
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("shape", SHAPES)
async def test_every_reasoning_shape_is_separated_from_the_answer(fake: FakeOpenAI, base_url: str, shape: str) -> None:
    fake.push(Reply(content="Paris.", reasoning="France's capital is Paris.", shape=shape))  # type: ignore[arg-type]
    async with make_client(base_url) as client:
        completion = await client.complete(MODEL, MESSAGES)
    assert completion.content == "Paris."
    assert completion.reasoning == "France's capital is Paris."


@pytest.mark.parametrize("shape", SHAPES)
async def test_streaming_splits_reasoning_in_every_shape(fake: FakeOpenAI, base_url: str, shape: str) -> None:
    fake.push(Reply(content="The answer is 42.", reasoning="Six times seven.", shape=shape, chunk=3))  # type: ignore[arg-type]
    kinds: dict[str, str] = {"reasoning": "", "content": ""}
    async with make_client(base_url) as client:
        events = [e async for e in client.stream(MODEL, MESSAGES)]
    for event in events:
        if event.kind in kinds:
            kinds[event.kind] += event.text
    done = events[-1].completion
    assert done is not None
    assert done.content == "The answer is 42." and done.reasoning == "Six times seven."
    assert "<think>" not in kinds["content"] and "</think>" not in kinds["content"]
    assert kinds["content"].strip() == "The answer is 42."
    assert done.usage["completion_tokens"] == 20
    assert len([e for e in events if e.kind == "content"]) > 1  # really streamed in pieces


async def test_streamed_native_tool_call_is_assembled(fake: FakeOpenAI, base_url: str) -> None:
    fake.push(native_call("postgres_query", {"sql": "SELECT 1"}))
    async with make_client(base_url) as client:
        events = [e async for e in client.stream(MODEL, MESSAGES, tools=[])]
    done = events[-1].completion
    assert done is not None and done.tool_calls[0].name == "postgres_query"
    assert done.tool_calls[0].arguments == '{"sql": "SELECT 1"}'
    assert done.reasoning == "Calling a tool."


def test_think_splitter_handles_tags_cut_across_chunks() -> None:
    splitter = ThinkSplitter()
    parts = []
    for piece in ["<th", "ink>abc</th", "ink>answ", "er"]:
        parts += splitter.feed(piece)
    parts += splitter.flush()
    assert "".join(t for k, t in parts if k == "reasoning") == "abc"
    assert "".join(t for k, t in parts if k == "content") == "answer"


def test_split_message_without_reasoning_keeps_content() -> None:
    assert split_message({"content": "plain answer"}) == ("plain answer", "")
    assert split_message({"content": "a < b and c > d"}) == ("a < b and c > d", "")


async def test_429_is_retried_honouring_retry_after(fake: FakeOpenAI, base_url: str) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    fake.push(Reply(status=429, error="Too many requests", headers={"Retry-After": "2"}), Reply(content="ok"))
    client = ModelClient(resolve_endpoint("vllm", base_url, env={}), sleep=sleep)
    async with client:
        completion = await client.complete(MODEL, MESSAGES)
    assert completion.content == "ok" and slept == [2.0] and len(fake.requests) == 2


async def test_429_beyond_the_wait_limit_is_reported(fake: FakeOpenAI, base_url: str) -> None:
    fake.push(Reply(status=429, error="slow down", headers={"Retry-After": "600"}))
    async with make_client(base_url) as client:
        with pytest.raises(ModelRateLimited) as info:
            await client.complete(MODEL, MESSAGES)
    assert info.value.retry_after == 600 and "Retry after 600 s" in info.value.message
    assert len(fake.requests) == 1


async def test_503_is_retried_then_reported(fake: FakeOpenAI, base_url: str) -> None:
    fake.push(*[Reply(status=503, error="loading")] * 3)
    async with make_client(base_url) as client:
        with pytest.raises(EndpointUnavailable, match="loading the model"):
            await client.complete(MODEL, MESSAGES)
    assert len(fake.requests) == 3


async def test_503_on_a_stream_is_retried_before_the_first_chunk(fake: FakeOpenAI, base_url: str) -> None:
    fake.push(Reply(status=503, error="busy"), Reply(content="fine", reasoning="r"))
    async with make_client(base_url) as client:
        events = [e async for e in client.stream(MODEL, MESSAGES)]
    assert events[-1].completion is not None and events[-1].completion.content == "fine"


async def test_unknown_model_says_model_not_loaded(fake: FakeOpenAI, base_url: str) -> None:
    async with make_client(base_url) as client:
        with pytest.raises(ModelNotLoaded, match="does not serve model 'nope'"):
            await client.complete("nope", MESSAGES)
        assert await client.models() == [MODEL]


async def test_context_overflow_is_named(fake: FakeOpenAI, base_url: str) -> None:
    text = "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens."
    fake.push(Reply(status=400, error=text, vllm_error=True))
    async with make_client(base_url) as client:
        with pytest.raises(ContextOverflow, match="max-model-len"):
            await client.complete(MODEL, MESSAGES)
    assert len(fake.requests) == 1  # not retried


async def test_endpoint_down_is_clear_and_keyless() -> None:
    endpoint = resolve_endpoint("vllm", f"http://127.0.0.1:{free_port()}/v1", env={"VLLM_API_KEY": "sk-secret-123"})
    async with ModelClient(endpoint, ClientOptions(attempts=2), sleep=_no_sleep) as client:
        with pytest.raises(EndpointUnavailable) as info:
            await client.complete(MODEL, MESSAGES)
    assert "no model server answers" in info.value.message and "sk-secret" not in info.value.message


async def test_read_timeout_is_reported(base_url: str) -> None:
    transport_timeout = ClientOptions(read_timeout=0.000001, attempts=1)
    async with ModelClient(resolve_endpoint("vllm", base_url, env={}), transport_timeout) as client:
        with pytest.raises((ModelTimeout, EndpointUnavailable)):
            await client.complete(MODEL, MESSAGES)


async def test_keys_go_only_to_their_own_provider(fake: FakeOpenAI, base_url: str) -> None:
    env = {"VLLM_API_KEY": "vllm-key", "AZURE_OPENAI_API_KEY": "azure-key"}
    custom = resolve_endpoint("custom", base_url, env=env)
    assert custom.headers() == {}
    assert resolve_endpoint("azure", base_url, env=env).headers() == {}  # not an Azure host
    azure = resolve_endpoint("azure", "https://x.openai.azure.com/openai/v1", env=env)
    assert azure.headers() == {"api-key": "azure-key"}
    entra = resolve_endpoint("azure", "https://x.openai.azure.com/openai/v1", env=env | {"AZURE_OPENAI_AD_TOKEN": "t"})
    assert entra.headers() == {"Authorization": "Bearer t"}
    fake.push(Reply(content="ok"))
    async with ModelClient(resolve_endpoint("vllm", base_url, env=env)) as client:
        await client.complete(MODEL, MESSAGES)
    assert fake.headers[-1]["authorization"] == "Bearer vllm-key"
    assert "api-key" not in fake.headers[-1]


async def _no_sleep(_: float) -> None:
    return None
