"""Reasoning in every shape servers send it, separated from the answer.

- `message.reasoning`: current vLLM with `--reasoning-parser deepseek_r1`;
- `message.reasoning_content`: older vLLM, DeepSeek's API, several others;
- `<think>…</think>` inside `content`: Azure AI Foundry and servers without a
  reasoning parser. R1's chat template opens `<think>` in the prompt, so the
  output may hold only the closing tag: everything before it is reasoning.

Streaming deltas carry the same fields; `ThinkSplitter` splits a content stream
whose tags may be cut anywhere across chunks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

OPEN = "<think>"
CLOSE = "</think>"

Part = tuple[Literal["reasoning", "content"], str]


def field_reasoning(message: Mapping[str, Any]) -> str:
    """Reasoning from the dedicated fields, whichever the server uses."""
    for key in ("reasoning", "reasoning_content"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def split_think(content: str) -> tuple[str, str]:
    """(answer, reasoning) of a content string that may hold `<think>` blocks."""
    splitter = ThinkSplitter()
    parts = splitter.feed(content) + splitter.flush()
    answer = "".join(text for kind, text in parts if kind == "content")
    reasoning = "".join(text for kind, text in parts if kind == "reasoning")
    return answer.strip(), reasoning.strip()


def split_message(message: Mapping[str, Any]) -> tuple[str, str]:
    """(answer, reasoning) of a chat completion message of any shape."""
    content = message.get("content")
    answer, inline = split_think(content) if isinstance(content, str) else ("", "")
    reasoning = field_reasoning(message)
    return answer, "\n".join(part for part in (reasoning.strip(), inline) if part)


class ThinkSplitter:
    """Incremental `<think>` splitter for streamed content.

    Until the first non-blank text shows whether the stream starts with
    `<think>`, with another text, or (R1 prompts opening the tag themselves)
    runs into a bare `</think>`, text is held back; afterwards only a possible
    partial tag at the end of a chunk is held.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._mode: Literal["start", "reasoning", "content", "unknown"] = "start"
        self._answer_started = False

    def feed(self, text: str) -> list[Part]:
        self._buffer += text
        parts: list[Part] = []
        while self._buffer:
            if self._mode == "start":
                stripped = self._buffer.lstrip()
                if not stripped:
                    return parts
                if stripped.startswith(OPEN):
                    self._buffer = stripped[len(OPEN) :]
                    self._mode = "reasoning"
                    continue
                if OPEN.startswith(stripped):
                    return parts  # could still become <think>
                # Text before any tag: reasoning if a bare </think> follows, else answer.
                self._mode = "unknown"
                continue
            if self._mode == "unknown":
                if CLOSE in self._buffer:
                    before, _, after = self._buffer.partition(CLOSE)
                    parts.append(("reasoning", before))
                    self._buffer = after
                    self._mode = "content"
                    continue
                if OPEN in self._buffer:
                    before, _, after = self._buffer.partition(OPEN)
                    parts.append(("content", before))
                    self._buffer = after
                    self._mode = "reasoning"
                    continue
                return parts  # wait: a </think> may still come (flush decides)
            tag = CLOSE if self._mode == "reasoning" else OPEN
            kind: Literal["reasoning", "content"] = self._mode
            index = self._buffer.find(tag)
            if index >= 0:
                parts.append((kind, self._buffer[:index]))
                self._buffer = self._buffer[index + len(tag) :]
                self._mode = "content" if self._mode == "reasoning" else "reasoning"
                continue
            keep = _partial_suffix(self._buffer, tag)
            emit = self._buffer[: len(self._buffer) - keep]
            self._buffer = self._buffer[len(emit) :]
            if emit:
                parts.append((kind, emit))
            return [p for p in parts if p[1]]
        return [p for p in parts if p[1]]

    def flush(self) -> list[Part]:
        rest, self._buffer = self._buffer, ""
        if not rest:
            return []
        if self._mode in ("start", "unknown", "content"):
            return [("content", rest)]
        return [("reasoning", rest)]


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that is a proper start of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0
