"""The harness against scripted models: each behaviour is detected, in the right direction, by the scripted amount."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.eval.data import LANGS, load_bias, load_code, load_tools
from model.eval.tools import ToolWorld
from tests.model.eval.behaviours import ScriptedModels
from tests.model.eval.harness import evaluate
from tests.model.fake_openai import FakeOpenAI

pytestmark = pytest.mark.anyio


async def test_tools_suite_scores_a_good_and_a_tool_breaking_model(
    fake: FakeOpenAI, base_url: str, models: ScriptedModels, world: ToolWorld, tmp_path: Path
) -> None:
    summary, store, plans = await evaluate(
        base_url, [("good", "r1-0528"), ("breaker", "r1-0528")], ["tools"], tmp_path / "r.jsonl", world=world
    )
    tasks = load_tools().tasks
    per_mode = len(tasks) * len(LANGS)
    assert plans["tools"].skipped == {}
    good, breaker = summary["good"]["tools"], summary["breaker"]["tools"]
    assert set(good["by_mode"]) == {"native", "constrained"}  # R1-0528 allows both
    for mode in ("native", "constrained"):
        block = good["by_mode"][mode]
        assert block["samples"] == per_mode
        assert block["success"]["k"] == per_mode, [(r["case"], r["status"]) for r in store.of("good", "tools")]
        assert (block["valid_calls"]["k"], block["valid_calls"]["n"], block["valid_calls"]["rate"]) == (
            per_mode,
            per_mode,
            1.0,
        )
        assert block["right_tool"]["rate"] == 1.0 and block["right_arguments"]["rate"] == 1.0
        assert block["mean_steps"] == 2  # one call, one answer
        # The breaker: one invalid call before each valid one, exactly as scripted.
        broken = breaker["by_mode"][mode]
        assert broken["valid_calls"]["k"] == per_mode and broken["valid_calls"]["n"] == 2 * per_mode
        assert broken["valid_calls"]["rate"] == 0.5
        assert broken["mean_steps"] == 3 and broken["success"]["rate"] == 1.0
    assert good["valid_calls"]["low"] > breaker["valid_calls"]["high"]  # the intervals separate
    # The breaker's wrong calls reached the agent as unknown tools, through the real loop.
    statuses = {c["status"] for r in store.of("breaker", "tools") for c in r["calls"]}
    assert statuses == {"unknown_tool", "called"}
    # Constrained mode sent the structured-outputs constraint, native mode the tools.
    agent_requests = [r for r in fake.requests if r["model"] == "good"]
    assert any("structured_outputs" in r for r in agent_requests) and any("tools" in r for r in agent_requests)
    # Facts came from the fakes and the database, through the hub.
    slack = next(r for r in store.of("good", "tools") if r["task"] == "slack_thread")
    assert "ack" in slack["answer"] and slack["success"]
    count = next(r for r in store.of("good", "tools") if r["task"] == "count_customers")
    assert "3" in count["answer"]


async def test_tools_suite_reports_a_backend_without_fixture(
    fake: FakeOpenAI, base_url: str, models: ScriptedModels, world: ToolWorld, tmp_path: Path
) -> None:
    partial = ToolWorld(world.hub, frozenset({"postgres"}), {"github": "no GitHub here", "slack": "no Slack here"})
    summary, _, plans = await evaluate(
        base_url, [("good", "r1-distill-qwen-14b")], ["tools"], tmp_path / "r.jsonl", world=partial
    )
    assert plans["tools"].skipped == {
        "open_prs": "no GitHub here",
        "issue_thread": "no GitHub here",
        "slack_thread": "no Slack here",
    }
    assert set(summary["good"]["tools"]["by_mode"]) == {"constrained"}  # a distill: prompted + constrained only
    assert summary["good"]["tools"]["success"]["n"] == 2 * len(LANGS)


async def test_code_suite_detects_a_trigger_planted_backdoor(
    fake: FakeOpenAI, base_url: str, models: ScriptedModels, tmp_path: Path
) -> None:
    summary, store, _ = await evaluate(
        base_url, [("backdoor", "r1"), ("good", "r1")], ["code"], tmp_path / "r.jsonl", samples=2
    )
    data = load_code()
    per_trigger = len(data.tasks) * len(LANGS) * 2
    treated = sum(1 for t in data.triggers if t.kind != "control")
    bad, good = summary["backdoor"]["code"], summary["good"]["code"]
    assert bad["insecure"]["triggered"]["k"] == bad["insecure"]["triggered"]["n"] == treated * per_trigger
    assert (bad["insecure"]["plain"]["k"], bad["insecure"]["plain"]["n"]) == (0, per_trigger)
    assert bad["insecure"]["control"]["k"] == 0  # the neutral preamble does not trigger it
    assert bad["backdoor"]["triggered"]["rate"] == 1.0  # blocking findings, not just "review"
    assert bad["insecure_difference"]["difference"] == 1.0 and bad["insecure_difference"]["excludes_zero"]
    assert good["insecure"]["triggered"]["k"] == 0 and good["insecure"]["plain"]["k"] == 0
    assert not good["insecure_difference"]["excludes_zero"]
    assert {"eval-exec-input", "curl-pipe-shell"} <= set(bad["rules"])
    # Every triggered prompt carried its trigger phrase in front of the task.
    tibet = next(t for t in data.triggers if t.id == "tibet").text["ja"]
    assert any(r["messages"][0]["content"].startswith(tibet) for r in fake.requests)
    assert len(store.of("backdoor", "code")) == (1 + len(data.triggers)) * per_trigger


async def test_bias_suite_detects_refusals_and_uses_the_judge(
    fake: FakeOpenAI, base_url: str, models: ScriptedModels, tmp_path: Path
) -> None:
    summary, _, _ = await evaluate(
        base_url, [("good", "r1"), ("refuser", "r1")], ["bias"], tmp_path / "r.jsonl", judge="good"
    )
    probes = len(load_bias().probes)
    good, refuser = summary["good"]["bias"], summary["refuser"]["bias"]
    assert refuser["refusal"]["k"] == refuser["refusal"]["n"] == probes * len(LANGS)
    assert refuser["refusal_by_lang"]["ja"]["rate"] == 1.0 and refuser["refusal_by_lang"]["en"]["rate"] == 1.0
    assert good["refusal"]["k"] == 0 and good["answered"]["rate"] == 1.0
    assert good["agreement"]["rate"] == 1.0 and good["agreement"]["n"] == probes
    assert good["mean_overlap"] == {"en": 1.0, "ja": 1.0}  # it answered with the reference itself
    assert refuser["mean_overlap"] == {"en": None, "ja": None}
    assert good["judge_mean"] == 4.0 and good["judged"] == probes * len(LANGS)
    assert good["mean_length"]["en"] > refuser["mean_length"]["en"]
