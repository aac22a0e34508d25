"""The review itself: order and skip files, pack hunks into calls, ask the model, check what it says.

One model call per chunk of the diff (several for a large change), each answer
held to the findings schema (structured outputs) and read tolerantly with one
repair round; a chunk whose answer stays unreadable is reported as not reviewed,
never dropped silently. Findings are checked against the diff; the security pass
scans the change's own added lines whatever the model said.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from model.client import ModelClient
from model.profiles import Profile
from model.review.diff import order_files
from model.review.findings import ModelFinding, parse_review, rank, repair_prompt, review_schema, validate
from model.review.packing import Chunk, pack
from model.review.prompts import build_prompt, messages
from model.review.report import Change, Coverage, ReviewReport, Usage
from model.review.security import security_pass
from model.toolcalls import ParseFailure, constraint_params

#: (done, total, message) before each model call and once at the end; may be async (the MCP tool's
#: `ctx.report_progress`).
Progress = Callable[[int, int, str], Awaitable[None] | None]

#: Diff tokens per call never exceed this, whatever the context (long prompts dilute a review).
MAX_CHUNK_TOKENS = 12_000
#: Prompt instructions, the model's answer and a margin, beside the diff.
RESERVED_TOKENS = 2_000


@dataclass
class ReviewOptions:
    lang: str = "en"
    #: Diff tokens per model call; None derives it from the profile's context.
    budget_tokens: int | None = None
    #: Model calls at most (repairs not counted); the rest of the diff is listed as not reviewed.
    max_calls: int = 24
    #: The served model name; the profile's HF id when empty.
    model: str = ""
    min_severity: str = "low"
    skip: tuple[str, ...] = ()
    instructions: str = ""
    max_tokens: int | None = None
    use_bandit: bool = True


async def _report(progress: Progress | None, done: int, total: int, message: str) -> None:
    if progress is not None:
        result = progress(done, total, message)
        if inspect.isawaitable(result):
            await result


def diff_budget(profile: Profile, max_tokens: int | None = None) -> int:
    """Diff tokens per call: what the context leaves after the answer and the instructions, capped."""
    answer = max_tokens or profile.max_tokens
    return max(1_000, min(MAX_CHUNK_TOKENS, (profile.context_length - answer - RESERVED_TOKENS) // 2))


async def review_change(
    change: Change,
    client: ModelClient,
    profile: Profile,
    options: ReviewOptions | None = None,
    progress: Progress | None = None,
) -> ReviewReport:
    options = options or ReviewOptions()
    report = ReviewReport(change, lang=options.lang)
    review, skipped = order_files(change.files, options.skip)
    coverage = Coverage(files_total=len(change.files), lines_total=sum(f.changed for f in change.files))
    coverage.files_skipped = [(f.path, f.skip or "") for f in skipped]
    budget = options.budget_tokens or diff_budget(profile, options.max_tokens)
    chunks = pack(review, budget)
    usage = Usage()
    found: list[ModelFinding] = []
    failed: dict[str, str] = {}
    done_lines: dict[str, int] = {}
    for index, chunk in enumerate(chunks, start=1):
        if index > options.max_calls:
            for path in chunk.paths:
                failed.setdefault(path, f"over the limit of {options.max_calls} model calls")
            continue
        paths = ", ".join(chunk.paths[:3])
        await _report(progress, index - 1, len(chunks), f"reviewing part {index} of {len(chunks)} ({paths})")
        answer = await _ask(client, profile, options, change, chunk, index, len(chunks), usage)
        if answer is None:
            for path in chunk.paths:
                failed.setdefault(path, "the model's answer stayed unreadable after a repair")
            continue
        items, summary = answer
        found.extend(items)
        if summary.strip():
            report.summaries.append(summary.strip())
        for piece in chunk.pieces:
            done_lines[piece.file.path] = done_lines.get(piece.file.path, 0) + piece.changed
    await _report(progress, len(chunks), len(chunks), "checking findings against the diff")
    by_path = {f.path: f for f in change.files}
    checked = [f for f in validate(found, by_path) if rank(f.severity) >= rank(options.min_severity)]
    report.findings = [f for f in checked if f.in_diff]
    report.folded = [f for f in checked if not f.in_diff]
    report.findings.sort(key=lambda f: (-rank(f.severity), f.path, f.line))
    for file in review:
        reviewed = done_lines.get(file.path, 0)
        coverage.lines_reviewed += reviewed
        if file.path in failed and reviewed:
            coverage.files_partial.append((file.path, failed[file.path]))
        elif file.path in failed:
            coverage.files_not_reviewed.append((file.path, failed[file.path]))
        else:
            coverage.files_reviewed.append(file.path)
    report.coverage = coverage
    report.usage = usage
    report.security = security_pass(change.files, checked, use_bandit=options.use_bandit)
    return report


async def _ask(
    client: ModelClient,
    profile: Profile,
    options: ReviewOptions,
    change: Change,
    chunk: Chunk,
    part: int,
    parts: int,
    usage: Usage,
) -> tuple[list[ModelFinding], str] | None:
    prompt = build_prompt(
        change.target.label, change.title, chunk.render(), part, parts, options.lang, options.instructions
    )
    conversation: list[dict[str, Any]] = list(messages(prompt, profile.system_prompt))
    params: dict[str, Any] = dict(profile.sampling())
    params["max_tokens"] = options.max_tokens or profile.max_tokens
    if profile.thinking is not None:
        params["chat_template_kwargs"] = {"thinking": profile.thinking}
    params.update(constraint_params(profile.constraint, review_schema()))
    model = options.model or profile.hf_id
    for attempt in (1, 2):
        completion = await client.complete(model, conversation, **params)
        usage.calls += 1
        usage.prompt_tokens += int(completion.usage.get("prompt_tokens") or 0)
        usage.completion_tokens += int(completion.usage.get("completion_tokens") or 0)
        try:
            parsed = parse_review(completion.content)
        except ParseFailure as exc:
            if attempt == 2:
                usage.unreadable_chunks += 1
                return None
            usage.repairs += 1
            conversation += [
                {"role": "assistant", "content": completion.content},
                {"role": "user", "content": repair_prompt(str(exc))},
            ]
            continue
        return parsed.findings, parsed.summary
    return None
