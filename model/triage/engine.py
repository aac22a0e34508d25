"""One model call per issue (held to the triage schema, one repair round), read and validated."""

from __future__ import annotations

from typing import Any

from model.client import ModelClient
from model.profiles import Profile, token_params
from model.review.prompts import messages
from model.toolcalls import ParseFailure, constraint_params
from model.triage.forges import IssueText
from model.triage.prompt import build_prompt
from model.triage.schema import ModelTriage, parse_triage, repair_prompt, triage_schema


async def ask_model(
    client: ModelClient,
    profile: Profile,
    repo: str,
    issue: IssueText,
    labels: list[str],
    candidates: list[IssueText],
    *,
    lang: str = "en",
    model: str = "",
    max_tokens: int | None = None,
    thinking_budget: int | None = None,
) -> tuple[ModelTriage | None, int]:
    """(the triage or None when the answer stayed unreadable, model calls made)."""
    numbers = [c.number for c in candidates]
    prompt = build_prompt(repo, issue, labels, candidates, lang)
    instructions, _, data = prompt.partition("\n\n")
    conversation: list[dict[str, Any]] = messages(instructions, data, profile.system_prompt)
    params: dict[str, Any] = dict(profile.sampling())
    params.update(token_params(profile, max_tokens or min(profile.max_tokens, 4096), thinking_budget))
    if profile.thinking is not None:
        params["chat_template_kwargs"] = {"thinking": profile.thinking}
    params.update(constraint_params(profile.constraint, triage_schema(labels, numbers)))
    calls = 0
    for attempt in (1, 2):
        completion = await client.complete(model or profile.hf_id, conversation, **params)
        calls += 1
        if completion.truncated:  # cut at the token limit (thinking that never ended): nothing to repair
            break
        try:
            return parse_triage(completion.content, labels, numbers), calls
        except ParseFailure as exc:
            if attempt == 2:
                break
            conversation += [
                {"role": "assistant", "content": completion.content},
                {"role": "user", "content": repair_prompt(str(exc))},
            ]
    return None, calls
