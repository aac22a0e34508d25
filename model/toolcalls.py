"""The prompted tool protocol, for models without usable native tool calling.

The model is shown the tools and answers, after its reasoning, with exactly one
JSON object: `{"tool": NAME, "arguments": {...}}` to call a tool, or
`{"answer": "..."}` when it is done. `action_schema` is the JSON schema of that
object, sent as a structured-outputs constraint where the server supports one
(vLLM applies it after the reasoning ends, so thinking stays free). Servers
that cannot constrain get `parse_action`, a tolerant parser (code fences,
`<tool_call>` wrappers, trailing commas, Python literals, aliases such as
`name`/`parameters`), and the agent one repair round.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from model.profiles import Constraint


@dataclass(frozen=True)
class ToolInfo:
    name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool


@dataclass
class Action:
    """What the model decided: call tools, or answer."""

    calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    answer: str | None = None


class ParseFailure(ValueError):
    """The model's output could not be read as an action; the message tells the model why."""


def action_schema(tools: list[ToolInfo]) -> dict[str, Any]:
    options: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {
                "tool": {"const": tool.name},
                "arguments": tool.input_schema or {"type": "object"},
            },
            "required": ["tool", "arguments"],
            "additionalProperties": False,
        }
        for tool in tools
    ]
    options.append(
        {
            "type": "object",
            "properties": {"answer": {"type": "string"}},
            "required": ["answer"],
            "additionalProperties": False,
        }
    )
    return {"anyOf": options}


def constraint_params(constraint: Constraint, schema: dict[str, Any]) -> dict[str, Any]:
    """Extra request body fields that make the server hold the output to `schema`."""
    if constraint == "structured_outputs":
        return {"structured_outputs": {"json": schema}}
    if constraint == "guided_json":
        return {"guided_json": schema}
    if constraint == "response_format":
        return {"response_format": {"type": "json_schema", "json_schema": {"name": "action", "schema": schema}}}
    return {}


def protocol_prompt(tools: list[ToolInfo]) -> str:
    lines = [
        "You can use these tools. After thinking, reply with exactly one JSON object and nothing else:",
        '{"tool": "<name>", "arguments": {...}} to call a tool (you will get its result), or',
        '{"answer": "<your final answer>"} when you are done.',
        "Tools:",
    ]
    for tool in tools:
        schema = json.dumps(tool.input_schema.get("properties", {}), separators=(",", ":"), ensure_ascii=False)
        required = tool.input_schema.get("required", [])
        lines.append(f"- {tool.name}: {tool.description} args={schema} required={json.dumps(required)}")
    return "\n".join(lines)


def repair_prompt(problem: str) -> str:
    return (
        f"Your last reply could not be used: {problem} Reply again with exactly one JSON object: "
        '{"tool": "<name>", "arguments": {...}} or {"answer": "..."}.'
    )


# -- tolerant parsing ------------------------------------------------------------------------

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_PY_LITERALS = re.compile(r"(?<![\w\"])(True|False|None)(?![\w\"])")
_TOOL_KEYS = ("tool", "name", "function", "tool_name")
_ARG_KEYS = ("arguments", "args", "parameters", "input")
_ANSWER_KEYS = ("answer", "final_answer", "final", "response")


def parse_json_lenient(text: str) -> Any:
    """json.loads, then again after fixing trailing commas and Python literals."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    fixed = _TRAILING_COMMA.sub(r"\1", text)
    fixed = _PY_LITERALS.sub(lambda m: {"True": "true", "False": "false", "None": "null"}[m.group(1)], fixed)
    return json.loads(fixed)


def parse_arguments(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """Tool-call arguments as a dict; raises ParseFailure with a reason the model can act on."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        value = parse_json_lenient(_strip_fence(raw))
    except ValueError as exc:
        raise ParseFailure(f"the arguments are not valid JSON ({exc}).") from None
    if isinstance(value, str):  # double-encoded
        return parse_arguments(value)
    if not isinstance(value, dict):
        raise ParseFailure("the arguments must be a JSON object.")
    return value


def parse_action(text: str, tool_names: set[str]) -> Action:
    """Read one action from the model's answer text (reasoning already removed)."""
    objects = _json_objects(_strip_fence(text))
    for obj in objects:
        action = _as_action(obj)
        if action is not None:
            return action
    stripped = text.strip()
    if not objects and "{" not in stripped and stripped:
        return Action(answer=stripped)  # plain prose: the model answered without the envelope
    if objects:
        raise ParseFailure('the JSON object has neither "tool" with "arguments" nor "answer".')
    raise ParseFailure("no complete JSON object was found.")


def _as_action(obj: Any) -> Action | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):  # {"function": {"name":…, "arguments":…}}
        obj = obj["function"]
    name = next((obj[k] for k in _TOOL_KEYS if isinstance(obj.get(k), str)), None)
    if name is not None:
        raw: Any = next((obj[k] for k in _ARG_KEYS if k in obj), {})
        return Action(calls=[(name, parse_arguments(raw if isinstance(raw, str | dict) else None))])
    answer = next((obj[k] for k in _ANSWER_KEYS if k in obj), None)
    if answer is not None:
        return Action(answer=answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False))
    return None


def _strip_fence(text: str) -> str:
    match = _FENCE.search(text)
    return match.group(1) if match else text


def _json_objects(text: str) -> list[Any]:
    """Every top-level JSON object in `text`, leniently decoded, in order."""
    found: list[Any] = []
    index = 0
    while (start := text.find("{", index)) >= 0:
        end = _matching_brace(text, start)
        if end < 0:
            break
        try:
            found.append(parse_json_lenient(text[start : end + 1]))
            index = end + 1
        except ValueError:
            index = start + 1
    return found


def _matching_brace(text: str, start: int) -> int:
    depth = 0
    in_string = False
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1
