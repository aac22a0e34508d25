"""What every suite shares: the model under evaluation, a case, and the loop that runs and stores samples."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from model.client import ModelClient
from model.errors import ModelError
from model.eval.progress import Progress
from model.eval.store import ResultsStore
from model.profiles import Profile


@dataclass
class Target:
    """A model to evaluate: its endpoint client, the name it is served under, and its profile."""

    client: ModelClient
    name: str
    profile: Profile

    async def ask(self, prompt: str, max_tokens: int | None = None) -> tuple[str, str]:
        """One plain question (no tools, no system prompt, the profile's sampling): (answer, reasoning)."""
        params: dict[str, Any] = dict(self.profile.sampling())
        params["max_tokens"] = max_tokens or min(self.profile.max_tokens, 4096)
        if self.profile.thinking is not None:
            params["chat_template_kwargs"] = {"thinking": self.profile.thinking}
        completion = await self.client.complete(self.name, [{"role": "user", "content": prompt}], **params)
        return completion.content, completion.reasoning


@dataclass(frozen=True)
class Case:
    suite: str
    id: str
    run: Callable[[int], Awaitable[dict[str, Any]]]


@dataclass
class Plan:
    """The cases of one suite, and what was left out and why (e.g. a backend without a fixture)."""

    cases: list[Case] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


async def run_cases(
    store: ResultsStore, target: Target, cases: list[Case], samples: int, progress: Progress, meta: dict[str, Any]
) -> list[str]:
    """Run every (case, sample) not already in the results file, appending each as it finishes.

    A sample whose model call failed (endpoint down, rate limit, bad response) is not stored, so a
    re-run retries it; the failures are returned as sentences.
    """
    failures: list[str] = []
    for case in cases:
        for sample in range(samples):
            label = f"{target.name} {case.suite} {case.id} #{sample}"
            if store.done(target.name, case.suite, case.id, sample):
                progress.step(label, skipped=True)
                continue
            try:
                record = await case.run(sample)
            except ModelError as exc:
                record = {"status": "model_error", "error": exc.message}
            progress.step(label)
            if record.get("status") == "model_error":
                failures.append(f"{label}: {record.get('error')}")
                continue
            store.append(
                {"model": target.name, "suite": case.suite, "case": case.id, "sample": sample, **meta, **record}
            )
    return failures
