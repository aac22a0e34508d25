"""A reviewing model behind an OpenAI-compatible API: it reads the diff in the prompt and answers in the schema.

It flags added lines with `== None` (a bug, with a suggested change) and `TODO`
(maintainability), optionally one line outside the diff, and counts tokens of the
prompt and answer with the DeepSeek tokenizer (the `usage` a real server reports).
Scripted `Reply`s pushed with `push` come first (malformed output, errors).
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_hub.tokens import count_tokens
from tests.model.fake_openai import FakeOpenAI, Reply

_HEADING = re.compile(r"^### (\S+) \[")
_ADDED = re.compile(r"^\s*(\d+) \+(.*)$")


def findings_for(prompt: str, *, outside: bool = False) -> dict[str, Any]:
    japanese = "Japanese" in prompt.split("Part ", 1)[0]
    path = ""
    findings: list[dict[str, Any]] = []
    for line in prompt.splitlines():
        heading = _HEADING.match(line)
        if heading:
            path = heading.group(1)
            continue
        added = _ADDED.match(line)
        if not added or not path:
            continue
        number, text = int(added.group(1)), added.group(2)
        if "== None" in text:
            findings.append(
                {
                    "path": path,
                    "line": number,
                    "severity": "medium",
                    "category": "bug",
                    "message": "None を `is` で比較してください。" if japanese else "Compare with None using `is`.",
                    "suggestion": text.replace("== None", "is None"),
                }
            )
        if "TODO" in text:
            findings.append(
                {
                    "path": path,
                    "line": number,
                    "severity": "low",
                    "category": "maintainability",
                    "message": "未解決の TODO です。" if japanese else "Unresolved TODO left in the code.",
                }
            )
    if outside and path:
        findings.append(
            {"path": path, "line": 9999, "severity": "high", "category": "bug", "message": "The caller may break."}
        )
    summary = "この部分を確認しました。" if japanese else f"Reviewed {len(findings)} issue(s) in this part."
    return {"findings": findings, "summary": summary}


_GROUP = re.compile(r"^(G\d+) \(([^)]*)\): (.*)$")


def description_for(prompt: str) -> dict[str, Any]:
    """What a describing model answers: one line per group it was given, a risk from what the files are."""
    groups = [m for m in (_GROUP.match(line) for line in prompt.splitlines()) if m]
    files = [path.split(" [")[0] for m in groups for path in m.group(3).split(", ")]
    risk = "high" if any("migrations/" in f for f in files) else "low"
    return {
        "summary": f"Changes {len(files)} file(s) in {len(groups)} group(s).",
        "groups": [{"id": m.group(1), "change": f"Edits {m.group(3).split(' [')[0]}."} for m in groups],
        "risk": risk,
        "risk_reasons": ["touches a database migration"] if risk == "high" else ["small local change"],
    }


class FakeReviewer(FakeOpenAI):
    def __init__(self) -> None:
        super().__init__()
        self.outside = False
        self.reasoning = "Let me read the diff carefully."

    def reset(self) -> None:
        super().reset()
        self.outside = False

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        if body.get("model") not in self.models:
            return JSONResponse({"object": "error", "message": "no such model", "code": 404}, status_code=404)
        prompt_text = "\n".join(str(m.get("content") or "") for m in body["messages"])
        if self.script:
            reply = self.script.pop(0)
            if reply.status != 200:
                return self._error(reply)
        else:
            user = "\n".join(str(m.get("content") or "") for m in body["messages"])
            answer = description_for(user) if "You describe a code change" in user else None
            answer = answer or findings_for(user, outside=self.outside)
            reply = Reply(content=json.dumps(answer), reasoning=self.reasoning)
        out = self._completion(reply, body["model"])
        completion_tokens = count_tokens(reply.content) + count_tokens(reply.reasoning)
        out["usage"] = {
            "prompt_tokens": count_tokens(prompt_text),
            "completion_tokens": completion_tokens,
            "total_tokens": count_tokens(prompt_text) + completion_tokens,
        }
        return JSONResponse(out)
