"""The model client retries by the hub's one policy (`mcp_hub.retry`), against the fake OpenAI server:
Retry-After honoured, bounded in attempts and in wait, jittered backoff, 5xx retried, timeouts not."""

from __future__ import annotations

import pytest

from mcp_hub.errors import AuthError, RateLimited, UpstreamTimeout, UpstreamUnavailable
from mcp_hub.retry import RetryPolicy, retrying
from model.client import ClientOptions, ModelClient
from model.endpoint import resolve_endpoint
from model.errors import EndpointUnavailable, ModelAuthError, ModelRateLimited, ModelTimeout
from tests.model.conftest import MODEL
from tests.model.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.anyio

MESSAGES = [{"role": "user", "content": "hi"}]


class Sleeps:
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


def client(base_url: str, sleep: Sleeps, options: ClientOptions | None = None) -> ModelClient:
    return ModelClient(resolve_endpoint("vllm", base_url, env={}), options, sleep=sleep)


def test_model_errors_are_the_cores() -> None:
    assert isinstance(ModelRateLimited("busy", 3), RateLimited)
    assert isinstance(EndpointUnavailable("down"), UpstreamUnavailable)
    assert isinstance(ModelTimeout("slow"), UpstreamTimeout)
    assert isinstance(ModelAuthError("key"), AuthError)
    limited = ModelRateLimited("busy", 3)
    assert (
        limited.retry_after == 3 and limited.message == "busy Retry after 3 s." and limited.kind == "model_rate_limited"
    )


async def test_the_core_policy_retries_a_model_rate_limit_as_its_own() -> None:
    sleep, calls = Sleeps(), []

    async def call() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ModelRateLimited("busy", 4)
        return "ok"

    assert await retrying(call, sleep=sleep) == "ok"
    assert sleep.slept == [4]


@pytest.mark.parametrize("stream", [False, True])
async def test_retry_after_is_honoured_on_both_paths(fake: FakeOpenAI, base_url: str, stream: bool) -> None:
    sleep = Sleeps()
    fake.push(Reply(status=429, error="slow down", headers={"Retry-After": "3"}), Reply(content="ok"))
    async with client(base_url, sleep) as c:
        if stream:
            events = [e async for e in c.stream(MODEL, MESSAGES)]
            content = events[-1].completion.content if events[-1].completion else ""
        else:
            content = (await c.complete(MODEL, MESSAGES)).content
    assert content == "ok" and sleep.slept == [3.0] and len(fake.requests) == 2


async def test_attempts_are_bounded(fake: FakeOpenAI, base_url: str) -> None:
    sleep = Sleeps()
    fake.push(*[Reply(status=429, error="slow down", headers={"Retry-After": "1"})] * 5)
    async with client(base_url, sleep, ClientOptions(attempts=3)) as c:
        with pytest.raises(ModelRateLimited):
            await c.complete(MODEL, MESSAGES)
    assert len(fake.requests) == 3 and sleep.slept == [1.0, 1.0]


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_unavailable_is_retried_with_jittered_bounded_backoff(
    fake: FakeOpenAI, base_url: str, status: int
) -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=0.75)
    delays: list[float] = []
    for _ in range(6):
        sleep = Sleeps()
        fake.reset()
        fake.push(Reply(status=status, error="busy"), Reply(status=status, error="busy"), Reply(content="ok"))
        async with client(base_url, sleep, ClientOptions(retry=policy)) as c:
            assert (await c.complete(MODEL, MESSAGES)).content == "ok"
        assert len(fake.requests) == 3 and len(sleep.slept) == 2
        assert 0 <= sleep.slept[0] <= 0.5 and 0 <= sleep.slept[1] <= 0.75  # doubled, capped at max_delay
        delays += sleep.slept
    assert len(set(delays)) > 1  # jittered: not one fixed delay


async def test_a_bad_request_is_not_retried(fake: FakeOpenAI, base_url: str) -> None:
    sleep = Sleeps()
    fake.push(Reply(status=401, error="bad key"), Reply(content="ok"))
    async with client(base_url, sleep) as c:
        with pytest.raises(ModelAuthError):
            await c.complete(MODEL, MESSAGES)
    assert len(fake.requests) == 1 and sleep.slept == []


@pytest.mark.parametrize("retry_timeouts", [False, True])
async def test_a_timeout_is_not_retried(fake: FakeOpenAI, base_url: str, retry_timeouts: bool) -> None:
    """A model call that timed out already cost `read_timeout`: reported, not sent again. The
    parametrisation with the policy's `timeouts` switched on shows the switch is what holds it."""
    sleep = Sleeps()
    fake.push(Reply(content="late", delay=1.0), Reply(content="ok"))
    options = ClientOptions(read_timeout=0.2, retry=RetryPolicy(max_wait=30.0, timeouts=retry_timeouts))
    async with client(base_url, sleep, options) as c:
        if retry_timeouts:
            assert (await c.complete(MODEL, MESSAGES)).content == "ok"
            assert len(fake.requests) == 2
        else:
            with pytest.raises(ModelTimeout, match="did not answer within"):
                await c.complete(MODEL, MESSAGES)
            assert len(fake.requests) == 1
