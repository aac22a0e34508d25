"""One async client for OpenAI-compatible chat completions (vLLM, Azure AI Foundry, Ollama, llama.cpp).

Plain HTTP through `httpx2` (no vendor SDK): one POST to `/chat/completions`,
streamed as server-sent events or not. Retries are the hub's one policy
(`mcp_hub.retry`): rate limits (429, honouring `Retry-After` up to `max_wait`)
and unavailability (connection refused, 502/503/504), a bounded number of times
with jittered backoff; a timeout is not retried (it already took minutes); a
stream is retried only before its first event. Every failure is a
`model.errors.ModelError` (and the core error of the same meaning) whose
message says what to do; the API key never appears in one.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import anyio
import httpx2

from mcp_hub import metrics, tracing
from mcp_hub.retry import RetryPolicy, retrying
from model.endpoint import Endpoint
from model.errors import BadModelResponse, EndpointUnavailable, ModelTimeout
from model.reasoning import ThinkSplitter, field_reasoning, split_message
from model.wire import Completion, StreamEvent, ToolCall, http_error

MODEL_SPAN = "mcp_hub.model_call"
#: The core policy with a longer wait (a model server's Retry-After while it loads) and no retry after a
#: timeout (one already cost `read_timeout`).
MODEL_RETRY = RetryPolicy(max_wait=30.0, timeouts=False)

T = TypeVar("T")


@dataclass(frozen=True)
class ClientOptions:
    #: Seconds to connect, and between two chunks of an answer (a long generation is fine while it streams).
    connect_timeout: float = 5.0
    read_timeout: float = 300.0
    #: Attempts in all for 429 / unavailable, the first included (overrides `retry.attempts`).
    attempts: int = 3
    #: Backoff, and the longest Retry-After slept through (a longer one is reported).
    retry: RetryPolicy = MODEL_RETRY

    def policy(self) -> RetryPolicy:
        return replace(self.retry, attempts=self.attempts)


class ModelClient:
    def __init__(
        self,
        endpoint: Endpoint,
        options: ClientOptions | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.endpoint = endpoint
        self.options = options or ClientOptions()
        self._sleep = sleep
        timeout = httpx2.Timeout(self.options.read_timeout, connect=self.options.connect_timeout)
        self._http = httpx2.AsyncClient(base_url=endpoint.base_url + "/", timeout=timeout, trust_env=True)

    async def __aenter__(self) -> ModelClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- API -------------------------------------------------------------------------------

    async def models(self) -> list[str]:
        """Names of the models the server serves (`GET /models`)."""

        async def call() -> list[str]:
            response = await self._send("GET", "models", None, "")
            data = _json(response.content, self.endpoint.base_url)
            return [str(m.get("id")) for m in data.get("data", []) if isinstance(m, dict)]

        return await self._retrying(call)

    async def complete(self, model: str, messages: list[dict[str, Any]], **params: Any) -> Completion:
        """One chat completion, reasoning separated from the answer."""
        body = {"model": model, "messages": messages, **_clean(params), "stream": False}

        async def call() -> Completion:
            response = await self._send("POST", "chat/completions", body, model)
            return parse_completion(_json(response.content, self.endpoint.base_url), self.endpoint.base_url)

        span = tracing.start_span(MODEL_SPAN, {"gen_ai.operation.name": "chat", "gen_ai.request.model": model})
        started = time.perf_counter()
        completion: Completion | None = None
        try:
            completion = await self._retrying(call)
            return completion
        finally:
            _observe(span, model, started, completion)

    async def raw_complete(self, model: str, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        """The server's own JSON for one non-streamed completion (for probing its shapes)."""
        body = {"model": model, "messages": messages, **_clean(params), "stream": False}

        async def call() -> dict[str, Any]:
            response = await self._send("POST", "chat/completions", body, model)
            return _json(response.content, self.endpoint.base_url)

        return await self._retrying(call)

    async def stream(self, model: str, messages: list[dict[str, Any]], **params: Any) -> AsyncIterator[StreamEvent]:
        """Reasoning, answer and tool-call events as they arrive; the last one ("done") holds the whole completion."""
        # Not made current: this generator's context is its consumer's between events.
        span = tracing.start_span(
            MODEL_SPAN, {"gen_ai.operation.name": "chat", "gen_ai.request.model": model}, current=False
        )
        started = time.perf_counter()
        completion: Completion | None = None
        try:
            async for event in self._stream(model, messages, **params):
                if event.kind == "done":
                    completion = event.completion
                yield event
        finally:
            _observe(span, model, started, completion)

    async def _stream(self, model: str, messages: list[dict[str, Any]], **params: Any) -> AsyncIterator[StreamEvent]:
        body = {
            "model": model,
            "messages": messages,
            **_clean(params),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        # Retried (by the policy) up to the first event; after it, a failure is the caller's.
        response, lines, assembler, first = await self._retrying(lambda: self._open_stream(body, model))
        try:
            for event in first:
                yield event
            async for line in lines:
                for event in assembler.line(line, self.endpoint.base_url):
                    yield event
            for event in assembler.finish():
                yield event
        except httpx2.TimeoutException:
            raise ModelTimeout(self._timeout_message()) from None
        except httpx2.TransportError as exc:
            raise self._unreachable(exc) from None
        finally:
            await response.aclose()

    async def _open_stream(
        self, body: dict[str, Any], model: str
    ) -> tuple[httpx2.Response, AsyncIterator[str], _Assembler, list[StreamEvent]]:
        """Send the request and read up to the first event (or the end of an empty stream)."""
        request = self._http.build_request("POST", "chat/completions", json=body, headers=self.endpoint.headers())
        response = await self._transport(self._http.send(request, stream=True))
        try:
            if response.status_code >= 400:
                raw = await response.aread()
                raise http_error(response.status_code, raw, dict(response.headers), self.endpoint.base_url, model)
            lines = response.aiter_lines()
            assembler = _Assembler()
            async for line in lines:
                events = assembler.line(line, self.endpoint.base_url)
                if events:
                    return response, lines, assembler, events
            return response, lines, assembler, []
        except httpx2.TimeoutException:
            await response.aclose()
            raise ModelTimeout(self._timeout_message()) from None
        except httpx2.TransportError as exc:
            await response.aclose()
            raise self._unreachable(exc) from None
        except BaseException:
            await response.aclose()
            raise

    # -- plumbing --------------------------------------------------------------------------

    async def _send(self, method: str, path: str, body: dict[str, Any] | None, model: str) -> httpx2.Response:
        response = await self._transport(self._http.request(method, path, json=body, headers=self.endpoint.headers()))
        if response.status_code >= 400:
            raise http_error(
                response.status_code, response.content, dict(response.headers), self.endpoint.base_url, model
            )
        return response

    async def _transport(self, sending: Awaitable[httpx2.Response]) -> httpx2.Response:
        """The answer's head, or the transport's failure as the model error of the same meaning."""
        try:
            return await sending
        except httpx2.TimeoutException:
            raise ModelTimeout(self._timeout_message()) from None
        except httpx2.TransportError as exc:
            raise self._unreachable(exc) from None

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        return await retrying(call, policy=self.options.policy(), sleep=self._sleep)

    def _unreachable(self, exc: Exception) -> EndpointUnavailable:
        return EndpointUnavailable(
            f"no model server answers at {self.endpoint.base_url} ({type(exc).__name__}): start one "
            "(`mcp-hub model serve PROFILE`) or pass the right --base-url."
        )

    def _timeout_message(self) -> str:
        return (
            f"the model server at {self.endpoint.base_url} did not answer within "
            f"{self.options.read_timeout:.0f} s: it may be overloaded; retry, or raise the timeout."
        )


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _json(content: bytes, base_url: str) -> dict[str, Any]:
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise BadModelResponse(f"the model server at {base_url} answered with something that is not JSON") from None
    if not isinstance(data, dict):
        raise BadModelResponse(f"the model server at {base_url} answered with an unexpected JSON shape")
    return data


def parse_completion(data: dict[str, Any], base_url: str) -> Completion:
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise BadModelResponse(f"the model server at {base_url} answered without choices")
    message = choices[0].get("message") or {}
    answer, reasoning = split_message(message)
    calls = [
        ToolCall(str(c.get("id") or f"call_{i}"), str(fn.get("name") or ""), _arguments_text(fn.get("arguments")))
        for i, c in enumerate(message.get("tool_calls") or [])
        if isinstance(c, dict) and isinstance(fn := c.get("function") or {}, dict)
    ]
    return Completion(
        content=answer,
        reasoning=reasoning,
        tool_calls=calls,
        finish_reason=choices[0].get("finish_reason"),
        model=str(data.get("model") or ""),
        usage=data.get("usage") or {},
    )


def _arguments_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


class _Assembler:
    """Turns SSE lines into events and builds the final completion."""

    def __init__(self) -> None:
        self.splitter = ThinkSplitter()
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.finish_reason: str | None = None
        self.model = ""
        self.usage: dict[str, Any] = {}
        self.parsed_reasoning = False

    def line(self, line: str, base_url: str) -> list[StreamEvent]:
        if not line.startswith("data:"):
            return []
        payload = line[5:].strip()
        if payload == "[DONE]" or not payload:
            return []
        try:
            chunk = json.loads(payload)
        except ValueError:
            raise BadModelResponse(f"the model server at {base_url} streamed a chunk that is not JSON") from None
        if not isinstance(chunk, dict):
            return []
        if isinstance(chunk.get("error"), dict):
            raise BadModelResponse(f"the model server at {base_url} failed mid-stream: {chunk['error'].get('message')}")
        self.model = str(chunk.get("model") or self.model)
        self.usage = chunk.get("usage") or self.usage
        events: list[StreamEvent] = []
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
            thought = field_reasoning(delta)
            if thought:
                self.parsed_reasoning = True
                events.append(self._reasoning(thought))
            text = delta.get("content")
            if isinstance(text, str) and text:
                parts = [("content", text)] if self.parsed_reasoning else self.splitter.feed(text)
                events.extend(self._part(kind, part) for kind, part in parts)
            for call in delta.get("tool_calls") or []:
                slot = self.calls.setdefault(int(call.get("index", 0)), {"id": "", "name": "", "arguments": ""})
                fn = call.get("function") or {}
                slot["id"] = call.get("id") or slot["id"]
                slot["name"] += fn.get("name") or ""
                slot["arguments"] += _arguments_text(fn.get("arguments"))
        return events

    def finish(self) -> list[StreamEvent]:
        events = [self._part(kind, text) for kind, text in self.splitter.flush()]
        calls = [
            ToolCall(slot["id"] or f"call_{index}", slot["name"], slot["arguments"])
            for index, slot in sorted(self.calls.items())
        ]
        events.extend(StreamEvent("tool_call", f"{c.name} {c.arguments}") for c in calls)
        completion = Completion(
            content="".join(self.content).strip(),
            reasoning="".join(self.reasoning).strip(),
            tool_calls=calls,
            finish_reason=self.finish_reason,
            model=self.model,
            usage=self.usage,
        )
        return [*events, StreamEvent("done", completion=completion)]

    def _reasoning(self, text: str) -> StreamEvent:
        self.reasoning.append(text)
        return StreamEvent("reasoning", text)

    def _part(self, kind: str, text: str) -> StreamEvent:
        if kind == "reasoning":
            return self._reasoning(text)
        self.content.append(text)
        return StreamEvent("content", text)


def _observe(span: tracing.SpanHandle | None, model: str, started: float, completion: Completion | None) -> None:
    """Metrics and the span's end for one model call (token counts only: never the messages)."""
    usage = completion.usage if completion is not None else {}
    prompt = int(usage.get("prompt_tokens") or 0)
    produced = int(usage.get("completion_tokens") or 0)
    metrics.record_model_call(model, time.perf_counter() - started, prompt, produced)
    tracing.end_span(
        span,
        "ok" if completion is not None else "error",
        {"gen_ai.usage.input_tokens": prompt, "gen_ai.usage.output_tokens": produced},
    )
