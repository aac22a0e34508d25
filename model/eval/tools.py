"""The tools suite: fixed tasks through the real agent loop against an in-process hub.

Each task runs in every mode the profile allows: `native` (the server's tool
calls) when the profile has them, and `constrained` (the prompted JSON protocol
with a structured-outputs constraint; `prompted` when the profile has no
constraint). Writes are never approved: the gate denies them, as for an
unattended run. Scores per sample: valid calls (well-formed, known tool) out of
attempts, right tool, right arguments, task success (an answer holding the
expected facts) and steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from model.agent import AgentResult
from model.app import AgentApp
from model.eval.data import LANGS, ToolsData, ToolTask
from model.eval.suite import Case, Plan, Target
from model.profiles import Profile
from model.settings import ModelSettings

SUITE = "tools"
INVALID = frozenset({"bad_arguments", "unknown_tool"})


@dataclass
class ToolWorld:
    """The hub the tasks run against, which backends it has, and why the others are missing."""

    hub: Any  # an in-memory hub server (mcp_hub.server.HubServer)
    backends: frozenset[str]
    missing: dict[str, str] = field(default_factory=dict)


def modes(profile: Profile) -> list[tuple[str, Profile]]:
    prompted = replace(profile, native_tools=False)
    name = "prompted" if profile.constraint == "none" else "constrained"
    return [("native", profile), (name, prompted)] if profile.native_tools else [(name, prompted)]


def arguments_match(arguments: dict[str, Any], spec: dict[str, Any]) -> bool:
    for key, want in spec.items():
        got = arguments.get(key)
        if isinstance(want, dict) and "any_of" in want:
            if not any(_same(got, option) for option in want["any_of"]):
                return False
        elif isinstance(want, dict) and "contains" in want:
            if not isinstance(got, str) or str(want["contains"]).lower() not in got.lower():
                return False
        elif not _same(got, want):
            return False
    return True


def _same(got: Any, want: Any) -> bool:
    if want is None or got is None:
        return got is want
    return str(got).strip().lower() == str(want).strip().lower()


def score(result: AgentResult, task: ToolTask) -> dict[str, Any]:
    calls = result.calls
    attempts = len(calls) + (1 if result.status == "unparseable" else 0)
    valid = sum(1 for c in calls if c.status not in INVALID)
    answer = result.answer.lower()
    return {
        "status": result.status,
        "error": result.error,
        "steps": result.steps,
        "attempts": attempts,
        "valid_calls": valid,
        "right_tool": any(c.tool == task.expect_tool and c.status == "called" for c in calls),
        "right_arguments": any(
            c.tool == task.expect_tool and arguments_match(c.arguments, task.expect_arguments) for c in calls
        ),
        "success": result.status == "answered" and all(w.lower() in answer for w in task.answer_contains),
        "calls": [{"tool": c.tool, "status": c.status, "arguments": c.arguments} for c in calls],
        "answer": result.answer[:3000],
    }


def plan(
    data: ToolsData, target: Target, world: ToolWorld, max_steps: int = 6, settings: ModelSettings | None = None
) -> Plan:
    """The tasks' cases; `settings` (`[model]`: token limits) apply to every agent run."""
    # An eval never waits for a person (`[model] wait_for_approval` is for the apps that write): its writes
    # are refused, as the tasks expect.
    app = AgentApp((settings or ModelSettings()).model_copy(update={"wait_for_approval": False}), world.hub)
    out = Plan()
    for task in data.tasks:
        if task.needs not in world.backends:
            out.skipped[task.id] = world.missing.get(task.needs, f"no {task.needs} fixture")
            continue
        for mode, profile in modes(target.profile):
            for lang in LANGS:
                out.cases.append(_case(app, target, task, lang, mode, profile, max_steps))
    return out


def _case(
    app: AgentApp, target: Target, task: ToolTask, lang: str, mode: str, profile: Profile, max_steps: int
) -> Case:
    async def run(sample: int) -> dict[str, Any]:
        async with app.session() as session:
            # Writes are never approved (no globs, nobody to ask): as for an unattended run.
            agent = app.agent(
                target.client, session, profile=profile, model=target.name, max_steps=max_steps, approve=()
            )
            result = await agent.run(task.prompt[lang])
        return {"task": task.id, "lang": lang, "mode": mode, **score(result, task)}

    return Case(SUITE, f"{task.id}.{lang}.{mode}", run)
