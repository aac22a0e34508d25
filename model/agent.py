"""The agent loop: a model deciding, the hub acting, the gate checking every write.

Each step asks the model once (streamed or not), reads its decision (native
tool calls, or the prompted JSON protocol with one repair round), and runs each
call through the gate (flow guard, scanner, approval) and the hub. Tool errors
and refusals go back to the model as results. The run stops at an answer, at
`max_steps`, when the model repeats an identical call a third time, when its
output stays unreadable after a repair, or on a model endpoint error; it never
crashes on what the model writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from mcp_hub import metrics
from model.client import ModelClient
from model.conversation import Conversation
from model.errors import OUT_OF_TOKENS_THINKING, ModelError, OutOfTokens
from model.gate import Gate
from model.hub import HubSession
from model.profiles import Profile, token_params
from model.toolcalls import (
    Action,
    ParseFailure,
    ToolInfo,
    action_schema,
    constraint_params,
    parse_action,
    parse_arguments,
    protocol_prompt,
    repair_prompt,
)
from model.wire import Completion

Status = Literal["answered", "max_steps", "repetition", "unparseable", "model_error"]
EventSink = Callable[[dict[str, Any]], None]


@dataclass
class CallRecord:
    tool: str
    arguments: dict[str, Any]
    status: str  # called | error | blocked | denied | unknown_tool | repeated | bad_arguments
    result: str = ""


@dataclass
class AgentResult:
    status: Status
    answer: str
    steps: int
    calls: list[CallRecord] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "answer": self.answer,
            "steps": self.steps,
            "error": self.error,
            "calls": [c.__dict__ for c in self.calls],
            "events": self.events,
        }


@dataclass
class AgentOptions:
    max_steps: int = 12
    stream: bool = False
    max_tokens: int | None = None
    #: vLLM `thinking_token_budget`, for profiles with a reasoning parser.
    thinking_budget: int | None = None
    #: The served model name; the profile's HF id when empty.
    model: str = ""


class Agent:
    def __init__(
        self,
        client: ModelClient,
        hub: HubSession,
        profile: Profile,
        gate: Gate,
        options: AgentOptions | None = None,
        on_event: EventSink | None = None,
    ) -> None:
        self.client = client
        self.hub = hub
        self.profile = profile
        self.gate = gate
        self.options = options or AgentOptions()
        self.on_event = on_event
        self.native = profile.native_tools
        self.events: list[dict[str, Any]] = []
        self.calls: list[CallRecord] = []
        self._seen: dict[str, int] = {}

    async def run(self, task: str) -> AgentResult:
        tools = list(self.hub.tools.values())
        conversation = Conversation(self.profile, self.native)
        conversation.start(task, "" if self.native else protocol_prompt(tools))
        params = self._params(tools)
        for step in range(1, self.options.max_steps + 1):
            metrics.record_agent_step()
            try:
                completion = await self._ask(conversation, params)
                action = await self._decide(completion, conversation, params)
            except ModelError as exc:
                self._emit("error", message=exc.message)
                return self._result("model_error", "", step, error=exc.message)
            except ParseFailure as exc:
                self._emit("error", message=f"unreadable model output after a repair round: {exc}")
                return self._result("unparseable", "", step, error=str(exc))
            if action.answer is not None and not action.calls:
                self._emit("answer", text=action.answer)
                return self._result("answered", action.answer, step)
            for call_id, name, arguments in self._with_ids(action, completion):
                stop = await self._perform(conversation, call_id, name, arguments)
                if stop:
                    return self._result(
                        "repetition", "", step, error=f"the model repeated {name} with the same arguments"
                    )
        self._emit("stop", reason="max_steps")
        return self._result("max_steps", "", self.options.max_steps, error="step limit reached without an answer")

    # -- asking --------------------------------------------------------------------------------

    def _params(self, tools: list[ToolInfo]) -> dict[str, Any]:
        params: dict[str, Any] = dict(self.profile.sampling())
        params.update(token_params(self.profile, self.options.max_tokens, self.options.thinking_budget))
        if self.profile.thinking is not None:
            params["chat_template_kwargs"] = {"thinking": self.profile.thinking}
        if self.native:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
                }
                for t in tools
            ]
            params["tool_choice"] = "auto"
        else:
            params.update(constraint_params(self.profile.constraint, action_schema(tools)))
        return params

    async def _ask(self, conversation: Conversation, params: dict[str, Any]) -> Completion:
        model = self.options.model or self.profile.hf_id
        if not self.options.stream:
            completion = await self.client.complete(model, conversation.messages, **params)
            if completion.reasoning:
                self._emit("reasoning", text=completion.reasoning)
            _check_finish(completion)
            return completion
        done: Completion | None = None
        async for event in self.client.stream(model, conversation.messages, **params):
            if event.kind in ("reasoning", "content"):
                self._emit(event.kind + "_delta", text=event.text, quiet=True)
            elif event.kind == "done":
                done = event.completion
        assert done is not None
        _check_finish(done)
        return done

    async def _decide(self, completion: Completion, conversation: Conversation, params: dict[str, Any]) -> Action:
        if self.native and completion.tool_calls:
            conversation.add_native_calls(completion)
            return Action(calls=[(c.name, c.arguments) for c in completion.tool_calls])
        names = set(self.hub.tools)
        try:
            action = parse_action(completion.content, names)
        except ParseFailure as exc:
            if self.native and "{" not in completion.content:
                raise
            self._emit("repair", problem=str(exc))
            conversation.add_raw_assistant(completion.content)
            conversation.add_user_note(repair_prompt(str(exc)))
            completion = await self._ask(conversation, params)
            if self.native and completion.tool_calls:
                conversation.add_native_calls(completion)
                return Action(calls=[(c.name, c.arguments) for c in completion.tool_calls])
            action = parse_action(completion.content, names)
        if action.answer is not None:
            conversation.add_answer(completion)
        else:
            for name, arguments in action.calls:
                conversation.add_prompted_call(name, arguments if isinstance(arguments, dict) else {})
        return action

    def _with_ids(self, action: Action, completion: Completion) -> list[tuple[str, str, dict[str, Any] | str]]:
        out: list[tuple[str, str, dict[str, Any] | str]] = []
        for index, (name, arguments) in enumerate(action.calls):
            call_id = completion.tool_calls[index].id if index < len(completion.tool_calls) else f"call_{index}"
            out.append((call_id, name, arguments))
        return out

    # -- acting --------------------------------------------------------------------------------

    async def _perform(self, conversation: Conversation, call_id: str, name: str, raw: dict[str, Any] | str) -> bool:
        """Run one call; True when the run must stop (repetition)."""
        try:
            arguments = parse_arguments(raw)
        except ParseFailure as exc:
            self._record(name, {}, "bad_arguments", str(exc))
            conversation.add_result(call_id, name, f"Error: {exc} Call {name} again with a JSON object.")
            return False
        tool = self.hub.tools.get(name)
        if tool is None:
            message = f"Error: unknown tool {name!r}. Available tools: {', '.join(sorted(self.hub.tools))}."
            self._record(name, arguments, "unknown_tool", message)
            conversation.add_result(call_id, name, message)
            return False
        key = name + json.dumps(arguments, sort_keys=True, default=str)
        seen = self._seen.get(key, 0)
        self._seen[key] = seen + 1
        if seen >= 2:
            self._record(name, arguments, "repeated", "stopped: identical call repeated")
            self._emit("stop", reason="repetition", tool=name)
            return True
        if seen == 1:
            message = f"You already called {name} with these arguments; its result is above. Use it or answer."
            self._record(name, arguments, "repeated", message)
            conversation.add_result(call_id, name, message)
            return False
        decision = await self.gate.check(tool, arguments, self._probe)
        if not decision.allowed:
            message = decision.message()
            self._record(name, arguments, decision.status, message)
            conversation.add_result(call_id, name, message)
            return False
        self._emit("tool_call", tool=name, arguments=arguments, approval=decision.how)
        try:
            outcome = await self.hub.call(name, arguments)
        except Exception as exc:
            text, is_error, provenance = f"Error: the hub call failed ({type(exc).__name__}).", True, {}
        else:
            text, is_error, provenance = outcome.text, outcome.is_error, outcome.provenance
        self.gate.guard.observe(provenance)
        self._record(name, arguments, "error" if is_error else "called", text)
        conversation.add_result(call_id, name, f"Error: {text}" if is_error else text)
        return False

    async def _probe(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A read the flow guard makes to learn a write target's visibility (not shown to the model)."""
        if tool not in self.hub.tools:
            return {}
        outcome = await self.hub.call(tool, arguments)
        self._emit("probe", tool=tool, arguments=arguments, visibility=outcome.provenance.get("visibility"))
        return outcome.provenance if not outcome.is_error else {}

    # -- bookkeeping ---------------------------------------------------------------------------

    def _record(self, tool: str, arguments: dict[str, Any], status: str, result: str) -> None:
        self.calls.append(CallRecord(tool, arguments, status, result[:2000]))
        self._emit("tool_result", tool=tool, status=status, result=result[:500])

    def _emit(self, kind: str, quiet: bool = False, **data: Any) -> None:
        event = {"type": kind, **data}
        if not quiet:
            self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def _result(self, status: Status, answer: str, steps: int, error: str | None = None) -> AgentResult:
        return AgentResult(status, answer, steps, list(self.calls), list(self.events), error)


def _check_finish(completion: Completion) -> None:
    """An answer cut off while the model was still thinking is its own error, not unreadable output."""
    if completion.out_of_tokens_thinking:
        raise OutOfTokens(OUT_OF_TOKENS_THINKING)
