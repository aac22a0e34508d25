"""The review itself: order and skip files, pack hunks into calls, ask the model, check what it says.

One model call per chunk of the diff (several for a large change), each answer
held to the findings schema (structured outputs) and read tolerantly with one
repair round; a chunk whose answer stays unreadable is reported as not reviewed,
never dropped silently. An answer cut off at the token limit while the model was
still thinking (`finish_reason: "length"`, nothing written) is not "unreadable":
it is retried once with a doubled budget where the context allows, then reported
as out of tokens. Findings are checked against the diff; the security pass
scans the change's own added lines whatever the model said.

Everything the model wrote (messages, suggestions, summaries) passes
`model.untrusted` here, the one place model output enters the report: whatever
path later shows or posts it (terminal, JSON, GitHub, GitLab) gets sanitised text.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from model.client import ModelClient
from model.profiles import Profile
from model.review.asking import ask_json
from model.review.diff import order_files
from model.review.findings import ModelFinding, parse_review, rank, repair_prompt, review_schema, validate
from model.review.packing import Chunk, pack
from model.review.prompts import build_prompt, messages, path_rules
from model.review.report import Change, Coverage, ReviewReport, Usage
from model.review.security import security_pass
from model.untrusted import forge_markdown, suggestion_text

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
    #: The repository's per-path instructions, (glob, text), from the base branch's settings.
    path_instructions: tuple[tuple[str, str], ...] = ()
    #: The answer's token limit per call (reasoning included); None: the profile's.
    max_tokens: int | None = None
    #: vLLM `thinking_token_budget` (reasoning tokens at most), for profiles with a reasoning parser.
    thinking_budget: int | None = None
    use_bandit: bool = True
    #: Share of the reviewable changed lines that must be reviewed for the run to count as reviewed
    #: (1.0: every reviewable file, whole). A file the model failed on makes it "not reviewed" anyway.
    min_coverage: float = 1.0
    #: Hosts model-written links may point at, beside the forge's own.
    allowed_hosts: tuple[str, ...] = ()
    #: Review only the commits pushed since the head the bot's summary records (a force-push falls
    #: back to a full review); False: always the whole change.
    incremental: bool = True


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
    coverage.lines_reviewable = sum(f.changed for f in review)
    coverage.min_share = options.min_coverage
    hosts = (change.target.host.split(":")[0], *options.allowed_hosts)
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
        if isinstance(answer, str):
            for path in chunk.paths:
                failed.setdefault(path, answer)
                coverage.model_failures.add(path)
            continue
        items, summary = answer
        found.extend(items)
        if summary.strip():
            report.summaries.append(forge_markdown(summary.strip(), hosts))
        for piece in chunk.pieces:
            done_lines[piece.file.path] = done_lines.get(piece.file.path, 0) + piece.changed
    await _report(progress, len(chunks), len(chunks), "checking findings against the diff")
    by_path = {f.path: f for f in change.files}
    checked = [f for f in validate(found, by_path) if rank(f.severity) >= rank(options.min_severity)]
    for f in checked:  # the model's words, made safe to show or post anywhere
        f.message = forge_markdown(f.message, hosts)
        f.suggestion = suggestion_text(f.suggestion) if f.in_diff else None
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
) -> tuple[list[ModelFinding], str] | str:
    """The findings and summary of one chunk, or why the chunk could not be reviewed."""
    instructions, data = build_prompt(
        change.target.label,
        change.title,
        chunk.render(),
        part,
        parts,
        options.lang,
        options.instructions,
        description=change.body,
        per_path=path_rules(chunk.paths, options.path_instructions),
    )
    conversation: list[dict[str, Any]] = messages(instructions, data, profile.system_prompt)
    answer = await ask_json(
        client,
        profile,
        conversation,
        review_schema(),
        parse_review,
        repair_prompt,
        usage,
        model=options.model,
        max_tokens=options.max_tokens,
        thinking_budget=options.thinking_budget,
    )
    return answer if isinstance(answer, str) else (answer.findings, answer.summary)
