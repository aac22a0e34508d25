"""A hub with the console on, served by uvicorn on 127.0.0.1, and the helpers its tests share."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2

from mcp_hub.config import load_config
from mcp_hub.http import build_http_app
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import build_server, hub_policy
from tests.core.conftest import NOTES_TOKEN
from tests.core.test_http import client_for
from tests.support.http_server import serve_in_thread
from tests.support.notes_connector import NotesConnector

ADMIN = "admin-token-0123456789abcdef"
AGENT = "agent-token-0123456789abcdef"
VIEWER = "viewer-token-0123456789abcdef"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def console_app(tmp_path: Path, extra_env: dict[str, str] | None = None) -> Any:
    registry = Registry([NotesConnector])
    env = {
        "NOTES_TOKEN": NOTES_TOKEN,
        "MCP_HUB_NOTES__NOTES": '["first"]',
        "MCP_HUB_ALLOW_WRITES": "1",
        "MCP_HUB_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        "MCP_HUB_APPROVE_WRITES": "notes_add_*",
        "MCP_HUB_CONSOLE": "true",
        "MCP_HUB_CONSOLE_APPROVERS": "admin",
        "MCP_HUB_HTTP__TOKENS__ADMIN__TOKEN": ADMIN,
        "MCP_HUB_HTTP__TOKENS__ADMIN__ALLOW_WRITES": "true",
        "MCP_HUB_HTTP__TOKENS__AGENT__TOKEN": AGENT,
        "MCP_HUB_HTTP__TOKENS__AGENT__ALLOW_WRITES": "true",
        "MCP_HUB_HTTP__TOKENS__VIEWER__TOKEN": VIEWER,
    } | (extra_env or {})
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    policy = hub_policy(config)
    server = build_server(config, registry=registry, caller=Caller("nobody", "http", policy))
    return build_http_app(server, config, policy, "http", "127.0.0.1", 0)


@contextmanager
def console_hub(tmp_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[tuple[str, Any]]:
    app = console_app(tmp_path, extra_env)
    with serve_in_thread(app) as base:
        yield base, app


def login(http: httpx2.Client, base: str, token: str) -> str:
    """Sign in through the form; returns the session's CSRF token (from a page's hidden field)."""
    page = http.get(f"{base}/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    answer = http.post(f"{base}/console/login", data={"csrf": csrf.group(1), "token": token})
    assert answer.status_code == 303, answer.text
    return csrf_of(http.get(f"{base}/console/approvals").text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


class BackgroundCall:
    """A tool call over Streamable HTTP in its own thread (it waits for a person's decision)."""

    def __init__(self, base: str, tool: str, arguments: dict[str, Any], token: str = AGENT) -> None:
        self.result: Any = None
        self.error: BaseException | None = None

        async def call() -> None:
            client, http = client_for(f"{base}/mcp", token)
            async with http, client:
                self.result = await client.call_tool(tool, arguments)

        def run() -> None:
            try:
                anyio.run(call)
            except BaseException as exc:  # reported by the test
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self, timeout_s: float = 30) -> Any:
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the held call did not finish"
        if self.error is not None:
            raise self.error
        return self.result


def wait_for(check: Callable[[], Any], timeout_s: float = 15) -> Any:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def run_async(function: Callable[..., Any], *args: Any) -> Any:
    """`anyio.run` in a thread of its own (Playwright's sync API keeps an event loop in the test's)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = anyio.run(function, *args)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def notes(base: str) -> list[str]:
    async def listed() -> list[str]:
        client, http = client_for(f"{base}/mcp", ADMIN)
        async with http, client:
            result = await client.call_tool("notes_list_notes", {})
            return [n["text"] for n in (result.structured_content or {})["notes"]]

    return run_async(listed)  # type: ignore[no-any-return]
