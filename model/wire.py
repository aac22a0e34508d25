"""The data the client returns, and turning HTTP failures into `model.errors`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from model.errors import (
    BadModelResponse,
    ContextOverflow,
    EndpointUnavailable,
    ModelAuthError,
    ModelError,
    ModelNotLoaded,
    ModelRateLimited,
)

_OVERFLOW_MARKERS = ("maximum context length", "context_length_exceeded", "context length", "too many tokens")


@dataclass
class ToolCall:
    id: str
    name: str
    #: The raw JSON text the model wrote; parse it with `model.toolcalls.parse_arguments`.
    arguments: str


@dataclass
class Completion:
    content: str
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    model: str = ""
    usage: dict[str, Any] = field(default_factory=dict)

    @property
    def truncated(self) -> bool:
        """The server stopped at the token limit (`finish_reason: "length"`): the answer is cut or missing."""
        return self.finish_reason == "length"

    @property
    def out_of_tokens_thinking(self) -> bool:
        """Cut off before writing anything but reasoning: an R1 model that thought through its whole budget."""
        return self.truncated and not self.content.strip() and not self.tool_calls


@dataclass
class StreamEvent:
    kind: Literal["reasoning", "content", "tool_call", "done"]
    text: str = ""
    completion: Completion | None = None


def error_message(body: bytes) -> str:
    """The server's own error text (OpenAI, vLLM, Ollama and Azure shapes), clipped."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body[:300].decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            code = err.get("code")
            message = str(err.get("message") or data.get("message") or "")
            return f"{message} ({code})" if isinstance(code, str) and code not in message else message[:500]
        if isinstance(err, str):
            return err[:500]
    return str(data)[:300]


def http_error(status: int, body: bytes, headers: dict[str, str], base_url: str, model: str) -> ModelError:
    """The `ModelError` for an HTTP error answer."""
    text = error_message(body)
    lower = text.lower()
    if status == 429:
        return ModelRateLimited(
            f"the model server at {base_url} is rate limiting ({text[:200]}).", _retry_after(headers)
        )
    if status in (502, 503, 504):
        return EndpointUnavailable(
            f"the model server at {base_url} is unavailable ({status}): it may still be loading the model or be "
            "overloaded; wait and retry, or check it with `mcp-hub model check`."
        )
    if status in (401, 403):
        return ModelAuthError(
            f"the model server at {base_url} refused the credentials ({status}): set the backend's API key "
            "(see model/README.md) or the Entra token."
        )
    if any(marker in lower for marker in _OVERFLOW_MARKERS) and status in (400, 413, 422):
        return ContextOverflow(
            f"the conversation no longer fits the model's context ({text[:300]}): shorten it, lower max_tokens, "
            "or serve the model with a larger --max-model-len."
        )
    if status == 404 and ("model" in lower or "not found" in lower or "does not exist" in lower):
        return ModelNotLoaded(
            f"the server at {base_url} does not serve model {model!r} ({text[:200]}): pass the served name "
            "(`mcp-hub model check` lists it) or serve that model."
        )
    if status == 404:
        return EndpointUnavailable(f"{base_url} has no chat completions endpoint (404): is the base URL right (…/v1)?")
    if status >= 500:
        return EndpointUnavailable(f"the model server at {base_url} failed ({status}): {text[:200]}")
    return BadModelResponse(f"the model server at {base_url} rejected the request ({status}): {text[:300]}")


def _retry_after(headers: dict[str, str]) -> float | None:
    for name in ("retry-after", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value.rstrip("s")))
            except ValueError:
                continue
    return None
