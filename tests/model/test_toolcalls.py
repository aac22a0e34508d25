"""The prompted tool protocol: schema, constraint parameter per server, tolerant parser."""

from __future__ import annotations

import pytest

from model.profiles import PROFILES, get_profile
from model.toolcalls import ParseFailure, ToolInfo, action_schema, constraint_params, parse_action, parse_arguments

TOOLS = [ToolInfo("postgres_query", "Run SQL.", {"type": "object", "properties": {"sql": {"type": "string"}}}, True)]
NAMES = {"postgres_query"}


def test_schema_offers_each_tool_or_an_answer() -> None:
    schema = action_schema(TOOLS)
    options = schema["anyOf"]
    assert options[0]["properties"]["tool"] == {"const": "postgres_query"}
    assert options[0]["properties"]["arguments"]["properties"]["sql"] == {"type": "string"}
    assert options[-1]["required"] == ["answer"]


def test_constraint_parameter_per_server_generation() -> None:
    schema = action_schema(TOOLS)
    assert constraint_params("structured_outputs", schema) == {"structured_outputs": {"json": schema}}
    assert constraint_params("guided_json", schema) == {"guided_json": schema}
    assert constraint_params("response_format", schema)["response_format"]["type"] == "json_schema"
    assert constraint_params("none", schema) == {}


@pytest.mark.parametrize(
    "text",
    [
        '{"tool": "postgres_query", "arguments": {"sql": "SELECT 1"}}',
        '```json\n{"tool": "postgres_query", "arguments": {"sql": "SELECT 1"},}\n```',
        'Sure! <tool_call>{"name": "postgres_query", "parameters": {"sql": "SELECT 1"}}</tool_call>',
        '{"function": {"name": "postgres_query", "arguments": "{\\"sql\\": \\"SELECT 1\\"}"}}',
        'I\'ll run it: {\'x\': 1} then {"tool": "postgres_query", "args": {"sql": "SELECT 1"}}',
    ],
)
def test_tolerant_parser_reads_common_call_shapes(text: str) -> None:
    action = parse_action(text, NAMES)
    assert action.calls == [("postgres_query", {"sql": "SELECT 1"})]


def test_answers_and_prose() -> None:
    assert parse_action('{"answer": "3 customers"}', NAMES).answer == "3 customers"
    assert parse_action("There are 3 customers.", NAMES).answer == "There are 3 customers."


@pytest.mark.parametrize("text", ['{"tool": "postgres_query", "arguments": {"sql": ', '{"foo": 1}', "{ nope"])
def test_malformed_output_raises_a_reason_not_a_crash(text: str) -> None:
    with pytest.raises(ParseFailure):
        parse_action(text, NAMES)


def test_arguments_python_literals_and_double_encoding() -> None:
    assert parse_arguments('{"a": True, "b": None}') == {"a": True, "b": None}
    assert parse_arguments('"{\\"a\\": 1}"') == {"a": 1}
    with pytest.raises(ParseFailure, match="JSON object"):
        parse_arguments("[1, 2]")


def test_profiles_state_the_facts() -> None:
    r1 = PROFILES["r1"]
    assert (r1.temperature, r1.top_p, r1.system_prompt, r1.native_tools) == (0.6, 0.95, False, False)
    ja = get_profile("cyberagent/DeepSeek-R1-Distill-Qwen-32B-Japanese")
    assert ja.name == "r1-ja-32b" and not ja.native_tools and ja.constraint == "structured_outputs"
    assert PROFILES["r1-0528"].tool_call_parser == "deepseek_v3"
    assert PROFILES["r1-0528"].chat_template == "tool_chat_template_deepseekr1.jinja"
    assert PROFILES["v3.1"].tool_call_parser == "deepseek_v31" and PROFILES["v3.1"].thinking is False
    v32 = PROFILES["v3.2"]
    assert (
        v32.tool_call_parser == "deepseek_v32" and v32.reasoning_in_tool_loop and v32.tokenizer_mode == "deepseek_v32"
    )
    assert get_profile("someone/Unknown-Model").constraint == "none"
    assert get_profile("org/DeepSeek-R1-Distill-Qwen-7B-finetune").native_tools is False
