"""One structured answer from the model: the schema constraint, one repair round, and token-limit handling.

Shared by the review (findings per chunk) and the description (one walkthrough). An answer cut
off at the token limit (`finish_reason: "length"`) is not bad JSON to repair: it is retried once
with a doubled budget where the context allows, then reported as out of tokens (while thinking,
when nothing was written). The result is the parsed answer, or a sentence saying why there is none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from model.client import ModelClient
from model.errors import OUT_OF_TOKENS_THINKING
from model.profiles import Profile, token_params
from model.review.report import Usage
from model.toolcalls import ParseFailure, constraint_params

T = TypeVar("T")


async def ask_json(
    client: ModelClient,
    profile: Profile,
    conversation: list[dict[str, Any]],
    schema: dict[str, Any],
    parse: Callable[[str], T],
    repair: Callable[[str], str],
    usage: Usage,
    *,
    model: str = "",
    max_tokens: int | None = None,
    thinking_budget: int | None = None,
) -> T | str:
    """`parse`d answer, or why the model gave none (unreadable after a repair, out of tokens)."""
    params: dict[str, Any] = dict(profile.sampling())
    limit = max_tokens or profile.max_tokens
    params.update(token_params(profile, limit, thinking_budget))
    if profile.thinking is not None:
        params["chat_template_kwargs"] = {"thinking": profile.thinking}
    params.update(constraint_params(profile.constraint, schema))
    repaired = grown = False
    while True:
        completion = await client.complete(model or profile.hf_id, conversation, **params)
        usage.calls += 1
        usage.prompt_tokens += int(completion.usage.get("prompt_tokens") or 0)
        usage.completion_tokens += int(completion.usage.get("completion_tokens") or 0)
        if completion.truncated:
            # Cut at the token limit: thinking that never ended, or JSON cut mid-way. Neither is
            # bad JSON to repair; one retry with a larger budget where the context leaves room.
            usage.out_of_tokens += 1
            bigger = _grown_limit(profile, limit, int(completion.usage.get("prompt_tokens") or 0))
            if not grown and bigger is not None:
                grown, limit = True, bigger
                usage.budget_retries += 1
                params.update(token_params(profile, limit, thinking_budget))
                continue
            if completion.out_of_tokens_thinking:
                return OUT_OF_TOKENS_THINKING
            return f"the model's answer was cut off at {limit} tokens; raise max_tokens (--max-tokens)"
        try:
            return parse(completion.content)
        except ParseFailure as exc:
            if repaired:
                usage.unreadable_chunks += 1
                return "the model's answer stayed unreadable after a repair"
            repaired = True
            usage.repairs += 1
            conversation = [
                *conversation,
                {"role": "assistant", "content": completion.content},
                {"role": "user", "content": repair(str(exc))},
            ]


def _grown_limit(profile: Profile, limit: int, prompt_tokens: int) -> int | None:
    """Twice the answer budget, within the profile's ceiling and the context; None when it cannot grow."""
    room = profile.context_length - prompt_tokens - 64
    bigger = min(limit * 2, profile.max_tokens_ceiling, room)
    return bigger if bigger > limit else None
