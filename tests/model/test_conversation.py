"""Message shaping per profile, and the agent's dependency rule."""

from __future__ import annotations

import subprocess
import sys

from model.conversation import Conversation
from model.profiles import PROFILES
from model.wire import Completion, ToolCall


def test_v32_reasoning_stays_in_the_tool_loop_and_is_dropped_for_a_new_user_turn() -> None:
    conversation = Conversation(PROFILES["v3.2"], native=True)
    conversation.start("task")
    conversation.add_native_calls(Completion("", "thinking…", [ToolCall("c1", "t", "{}")]))
    assert conversation.messages[-1]["reasoning_content"] == "thinking…"
    conversation.new_user_turn("next question")
    assert all("reasoning_content" not in m for m in conversation.messages)
    assert conversation.messages[0]["role"] == "system"


def test_r1_has_no_system_message_and_prompted_results_are_user_messages() -> None:
    conversation = Conversation(PROFILES["r1"], native=False)
    conversation.start("task", "protocol here")
    conversation.add_result("call_0", "postgres_query", "rows")
    roles = [m["role"] for m in conversation.messages]
    assert roles == ["user", "user"] and "protocol here" in conversation.messages[0]["content"]
    assert conversation.messages[1]["content"].startswith("Result of postgres_query")


def test_the_agent_never_imports_a_connector() -> None:
    code = (
        "import sys, model.agent, model.cli, model.runner, model.hub, model.gate\n"
        "print(sorted(m for m in sys.modules if m.startswith('connectors')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
