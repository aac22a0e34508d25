"""A scripted OpenAI-compatible server that behaves like DeepSeek models behind vLLM, Azure or raw servers.

Tests push `Reply`s; each chat completion request pops one (the last one is
repeated forever when `repeat` is set). Every request body is recorded. Replies
cover each reasoning shape, native tool calls, prompted JSON, malformed output,
streaming in small chunks, and HTTP errors (429 with Retry-After, 503, 404 for
an unknown model, 400 for a context overflow).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

Shape = Literal["reasoning", "reasoning_content", "think", "think_open"]


@dataclass
class Reply:
    content: str = ""
    reasoning: str = ""
    shape: Shape = "reasoning"
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    status: int = 200
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    chunk: int = 5
    #: vLLM's error body (`{"object": "error", …}`) instead of OpenAI's (`{"error": {…}}`).
    vllm_error: bool = False
    #: e.g. "length": the server stopped at the token limit (an R1 model still thinking).
    finish_reason: str | None = None
    #: Seconds before the answer starts (a server busy past the client's read timeout).
    delay: float = 0.0


def answer(text: str, reasoning: str = "Let me think.", shape: Shape = "reasoning") -> Reply:
    return Reply(content=json.dumps({"answer": text}), reasoning=reasoning, shape=shape)


def prompted_call(tool: str, arguments: dict[str, Any], reasoning: str = "I need a tool.") -> Reply:
    return Reply(content=json.dumps({"tool": tool, "arguments": arguments}), reasoning=reasoning)


def native_call(tool: str, arguments: dict[str, Any] | str, reasoning: str = "Calling a tool.") -> Reply:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return Reply(reasoning=reasoning, tool_calls=[(tool, raw)])


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.repeat = False
        #: When set, answers every request from its body instead of the script (scripted behaviours).
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.models = ["deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"]
        self.app = Starlette(
            routes=[
                Route("/v1/models", self.list_models, methods=["GET"]),
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
            ]
        )

    def reset(self) -> None:
        self.script, self.repeat, self.requests, self.headers = [], False, [], []
        self.responder = None

    def push(self, *replies: Reply) -> None:
        self.script.extend(replies)

    async def list_models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]})

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if body.get("model") not in self.models:
            return JSONResponse(
                {"object": "error", "message": f"The model `{body.get('model')}` does not exist.", "code": 404},
                status_code=404,
            )
        if self.responder is not None:
            reply = self.responder(body)
            if reply.status != 200:
                return self._error(reply)
            if body.get("stream"):
                return StreamingResponse(self._stream(reply, body["model"]), media_type="text/event-stream")
            return JSONResponse(self._completion(reply, body["model"]))
        if not self.script:
            return self._error(Reply(status=500, error="fake: no scripted reply left"))
        reply = self.script[0] if (self.repeat and len(self.script) == 1) else self.script.pop(0)
        if reply.delay:
            await anyio.sleep(reply.delay)
        if reply.status != 200:
            return self._error(reply)
        if body.get("stream"):
            return StreamingResponse(self._stream(reply, body["model"]), media_type="text/event-stream")
        return JSONResponse(self._completion(reply, body["model"]))

    # -- shapes --------------------------------------------------------------------------------

    def _error(self, reply: Reply) -> Response:
        if reply.vllm_error:
            payload: dict[str, Any] = {"object": "error", "message": reply.error, "code": reply.status}
        else:
            payload = {"error": {"message": reply.error, "type": "error", "code": str(reply.status)}}
        return JSONResponse(payload, status_code=reply.status, headers=reply.headers)

    @staticmethod
    def _message(reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
        if reply.reasoning:
            if reply.shape in ("reasoning", "reasoning_content"):
                message[reply.shape] = reply.reasoning
            elif reply.shape == "think":
                message["content"] = f"<think>\n{reply.reasoning}\n</think>\n\n{reply.content}"
            else:
                message["content"] = f"{reply.reasoning}\n</think>\n\n{reply.content}"
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": f"chatcmpl-tool-{i}", "type": "function", "function": {"name": n, "arguments": a}}
                for i, (n, a) in enumerate(reply.tool_calls)
            ]
        return message

    def _completion(self, reply: Reply, model: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": self._message(reply),
                    "finish_reason": reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop"),
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
        }

    async def _stream(self, reply: Reply, model: str) -> AsyncIterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
            data: dict[str, Any] = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if usage:
                data["usage"] = usage
            return f"data: {json.dumps(data)}\n\n".encode()

        def pieces(text: str) -> list[str]:
            return [text[i : i + reply.chunk] for i in range(0, len(text), reply.chunk)]

        yield chunk({"role": "assistant", "content": ""})
        message = self._message(reply)
        if reply.shape in ("reasoning", "reasoning_content") and reply.reasoning:
            for piece in pieces(reply.reasoning):
                yield chunk({reply.shape: piece})
        for piece in pieces(message.get("content") or ""):
            yield chunk({"content": piece})
        for index, (name, arguments) in enumerate(reply.tool_calls):
            half = len(arguments) // 2
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": f"chatcmpl-tool-{index}",
                            "type": "function",
                            "function": {"name": name, "arguments": arguments[:half]},
                        }
                    ]
                }
            )
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[half:]}}]})
        yield chunk({}, finish=reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop"))
        yield chunk({}, usage={"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30})
        yield b"data: [DONE]\n\n"
