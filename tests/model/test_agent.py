"""The agent loop over the real hub (Postgres test database, GitHub fake) with a scripted model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_hub.server import HubServer
from tests.model.fake_openai import FakeOpenAI, Reply, answer, native_call, prompted_call
from tests.model.hubs import run_agent

pytestmark = pytest.mark.anyio

COUNT = {"sql": "SELECT count(*) AS n FROM customers"}


def comment_bodies(github: Any, repo: str, number: int) -> list[str]:
    return [c["body"] for c in github.state.comments.get(repo, {}).get(number, [])]


def _texts(request: dict[str, Any]) -> str:
    return json.dumps(request["messages"])


async def test_prompted_protocol_on_an_r1_distill(fake: FakeOpenAI, base_url: str, hub: HubServer) -> None:
    fake.push(prompted_call("postgres_query", COUNT), answer("There are 3 customers."))
    run = await run_agent(hub, base_url, "How many customers?")
    result = run.result
    assert result.status == "answered" and result.answer == "There are 3 customers."
    assert [(c.tool, c.status) for c in result.calls] == [("postgres_query", "called")]
    assert '"rows":[[3]]' in result.calls[0].result.replace(" ", "")
    first, second = fake.requests
    assert first["messages"][0]["role"] == "user"  # R1: no system prompt
    assert all(m["role"] != "system" for m in first["messages"])
    assert first["temperature"] == 0.6 and first["top_p"] == 0.95 and "tools" not in first
    schema = first["structured_outputs"]["json"]
    assert {"const": "postgres_query"} in [o["properties"].get("tool") for o in schema["anyOf"]]
    assert "Result of postgres_query" in _texts(second) and "Let me think" not in _texts(second)


async def test_native_tool_calls_streamed(fake: FakeOpenAI, base_url: str, hub: HubServer) -> None:
    fake.push(native_call("github_get_issue", {"repo": "acme/widgets", "number": 40}), answer("It crashes on start."))
    run = await run_agent(hub, base_url, "Summarise issue 40", profile="r1-0528", stream=True)
    assert run.result.status == "answered" and run.result.answer == "It crashes on start."
    first, second = fake.requests
    assert first["stream"] is True and "structured_outputs" not in first
    assert "github_get_issue" in [t["function"]["name"] for t in first["tools"]]
    tool_message = next(m for m in second["messages"] if m["role"] == "tool")
    assert tool_message["tool_call_id"] == "chatcmpl-tool-0"
    assert "<untrusted-data boundary=" in tool_message["content"]  # outsider text delimited as data
    assistant = next(m for m in second["messages"] if m["role"] == "assistant")
    assert "reasoning_content" not in assistant  # R1-0528 does not need its reasoning back


async def test_v32_gets_its_reasoning_back_inside_the_tool_loop(
    fake: FakeOpenAI, base_url: str, hub: HubServer
) -> None:
    fake.push(native_call("postgres_query", COUNT, reasoning="Count the rows."), answer("3"))
    run = await run_agent(hub, base_url, "How many customers?", profile="v3.2")
    assert run.result.status == "answered"
    first, second = fake.requests
    assert first["chat_template_kwargs"] == {"thinking": True} and first["temperature"] == 1.0
    assistant = next(m for m in second["messages"] if m["role"] == "assistant")
    assert assistant["reasoning_content"] == "Count the rows."


async def test_malformed_json_gets_one_repair_round(fake: FakeOpenAI, base_url: str, hub: HubServer) -> None:
    fake.push(Reply(content='{"tool": "postgres_query", "arguments": {"sql": '), prompted_call("postgres_query", COUNT))
    fake.push(answer("3"))
    run = await run_agent(hub, base_url, "How many customers?")
    assert run.result.status == "answered"
    assert "could not be used" in _texts(fake.requests[1])
    assert [c.status for c in run.result.calls] == ["called"]


async def test_malformed_twice_ends_the_run_cleanly(fake: FakeOpenAI, base_url: str, hub: HubServer) -> None:
    fake.push(Reply(content="{broken"), Reply(content='{"tool": '))
    run = await run_agent(hub, base_url, "How many customers?")
    assert run.result.status == "unparseable" and run.result.calls == []


async def test_bad_native_arguments_and_unknown_tools_go_back_to_the_model(
    fake: FakeOpenAI, base_url: str, hub: HubServer
) -> None:
    fake.push(native_call("postgres_query", '{"sql": SELECT'), native_call("drop_everything", {}), answer("gave up"))
    run = await run_agent(hub, base_url, "How many customers?", profile="r1-0528")
    assert run.result.status == "answered"
    assert [c.status for c in run.result.calls] == ["bad_arguments", "unknown_tool"]
    assert "not valid JSON" in _texts(fake.requests[1])
    assert "unknown tool 'drop_everything'" in _texts(fake.requests[2]) and "postgres_query" in _texts(fake.requests[2])


async def test_tool_errors_are_returned_to_the_model(fake: FakeOpenAI, base_url: str, hub: HubServer) -> None:
    fake.push(prompted_call("postgres_query", {"sql": "DELETE FROM customers"}), answer("cannot delete"))
    run = await run_agent(hub, base_url, "Delete customers")
    assert run.result.calls[0].status == "error"
    assert "Error:" in _texts(fake.requests[1])


async def test_endless_repetition_is_stopped(fake: FakeOpenAI, base_url: str, hub: HubServer) -> None:
    fake.push(prompted_call("postgres_query", COUNT))
    fake.repeat = True
    run = await run_agent(hub, base_url, "How many customers?", max_steps=10)
    assert run.result.status == "repetition"
    assert [c.status for c in run.result.calls] == ["called", "repeated", "repeated"]
    assert len(fake.requests) == 3
    assert "You already called postgres_query" in _texts(fake.requests[2])


async def test_step_limit(fake: FakeOpenAI, base_url: str, hub: HubServer) -> None:
    for n in range(3):
        fake.push(prompted_call("postgres_query", {"sql": f"SELECT {n}"}))
    run = await run_agent(hub, base_url, "loop", max_steps=3)
    assert run.result.status == "max_steps" and len(run.result.calls) == 3


async def test_model_endpoint_failure_ends_the_run_with_the_reason(
    fake: FakeOpenAI, base_url: str, hub: HubServer
) -> None:
    fake.push(Reply(status=503, error="loading"), Reply(status=503, error="loading"))
    run = await run_agent(hub, base_url, "hi")
    assert run.result.status == "model_error" and "unavailable" in (run.result.error or "")


async def test_writes_need_approval(fake: FakeOpenAI, base_url: str, hub: HubServer, github: Any) -> None:
    comment = {"repo": "acme/widgets", "number": 40, "body": "Thanks, looking into it."}
    fake.push(native_call("github_add_issue_comment", comment), answer("could not comment"))
    run = await run_agent(hub, base_url, "Reply on issue 40", profile="r1-0528")
    assert run.result.calls[0].status == "denied"
    assert "non-interactive" in run.result.calls[0].result
    assert "Thanks, looking into it." not in comment_bodies(github, "acme/widgets", 40)

    fake.push(native_call("github_add_issue_comment", comment), answer("commented"))
    run = await run_agent(hub, base_url, "Reply on issue 40", profile="r1-0528", approve=("github_add_*",))
    assert run.result.calls[0].status == "called"
    assert github.state.comments["acme/widgets"][40][-1]["body"] == "Thanks, looking into it."

    fake.push(native_call("github_add_issue_comment", comment), answer("asked"))
    run = await run_agent(
        hub, base_url, "Reply", profile="r1-0528", ask=lambda question: "github_add_issue_comment" in question
    )
    assert run.result.calls[0].status == "called" and len(run.asked) == 1


async def test_out_of_tokens_while_thinking_is_named(fake: FakeOpenAI, base_url: str, hub: HubServer) -> None:
    fake.push(Reply(content="", reasoning="Let me think. " * 20, finish_reason="length"))
    run = await run_agent(hub, base_url, "How many customers?")
    assert run.result.status == "model_error" and "ran out of tokens while thinking" in (run.result.error or "")
    assert len(fake.requests) == 1  # not sent back for a JSON repair
    assert fake.requests[0]["max_completion_tokens"] == 8192 and "max_tokens" not in fake.requests[0]
