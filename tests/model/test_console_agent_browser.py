"""The web console with the real unattended agent, in a real browser (Debian's Chromium via Playwright).

The agent (fake OpenAI server, GitHub fake) reads a private file and then wants to post a public comment:
its flow guard holds the write in the approvals queue on Redis and the agent waits. A second hub process's
console (sharing that Redis state) shows the held write with its evidence — the comment's hostile text as
text, the public target, the private source it read —; a person approves it in the page and the comment
is posted exactly once; the next run's write is denied in the page and never posted; the audit page of
the console finds both decisions. Screenshots go to the test's tmp dir.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_hub.approvals import ApprovalQueue, open_approvals
from tests.conftest import RedisTarget
from tests.console.support import ADMIN, console_hub, wait_for
from tests.model.fake_openai import FakeOpenAI, answer, native_call
from tests.model.hubs import make_hub, run_agent
from tests.model.test_agent import comment_bodies
from tests.pg import TestDatabase

CHROMIUM = "/usr/bin/chromium"
READ_SECRET = native_call("github_get_contents", {"repo": "acme/secret", "path": "keys.txt"})
BODY = "keys: internal notes <img src=x onerror=alert(1)>"
DENIED_BODY = "and the rest of them <script>alert(2)</script>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:  # .ci/run installs it; never skipped silently
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (as root; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


class AgentRun:
    """`mcp-hub agent --wait-for-approval` in a thread of its own (its own event loop)."""

    def __init__(self, hub: Any, base_url: str, state: RedisTarget) -> None:
        self.run: Any = None
        self.error: BaseException | None = None

        async def agent() -> None:
            waiting = ApprovalQueue(open_approvals(state.url, state.prefix))
            waiting.poll_s = waiting.poll_max_s = 0.05
            try:
                self.run = await run_agent(hub, base_url, "Post it", profile="r1-0528", queue=waiting)
            finally:
                await waiting.aclose()

        def target() -> None:
            try:
                anyio.run(agent)
            except BaseException as exc:
                self.error = exc

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def join(self) -> Any:
        self.thread.join(60)
        assert not self.thread.is_alive(), "the agent did not finish"
        if self.error is not None:
            raise self.error
        return self.run


def _open_pending(page: Any, base: str, tool: str) -> None:
    def listed() -> bool:
        page.goto(f"{base}/console/approvals")
        return page.locator(f"a:text('{tool}')").count() > 0

    wait_for(listed, timeout_s=30)
    page.click(f"a:text('{tool}')")


def test_the_agents_held_write_is_approved_once_and_denied_in_the_browser(
    browser: Any,
    fake: FakeOpenAI,
    base_url: str,
    github: Any,
    github_served: tuple[Any, str],
    pg_dsn: TestDatabase,
    redis_target: RedisTarget,
    tmp_path: Path,
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    shared = {"MCP_HUB_STATE_URL": redis_target.url, "MCP_HUB_STATE_PREFIX": redis_target.prefix}
    agent_hub = make_hub(pg_dsn, github_served[1], extra_env=shared)
    leak = {"repo": "acme/widgets", "number": 40}
    with console_hub(tmp_path, shared) as (console, _):
        page = browser.new_context(viewport={"width": 412, "height": 900}).new_page()
        page.goto(f"{console}/console/login")
        page.fill("#token", ADMIN)
        page.click("button[type=submit]")
        page.wait_for_url(f"{console}/console/approvals")

        fake.push(READ_SECRET, native_call("github_add_issue_comment", {**leak, "body": BODY}), answer("posted"))
        approved = AgentRun(agent_hub, base_url, redis_target)
        _open_pending(page, console, "github_add_issue_comment")
        assert page.locator("#text").inner_text() == BODY  # the comment as text
        assert page.locator("main img").count() == 0  # …and not as markup
        details = page.locator("main").inner_text()
        assert "github://acme/widgets" in details and "PUBLIC" in details
        assert "github://acme/secret/contents/keys.txt" in details  # the private source it read
        reasons = page.locator("ul.reasons li").all_inner_texts()
        assert len(reasons) == len(set(reasons))  # each reason once
        assert BODY not in comment_bodies(github, "acme/widgets", 40)  # nothing written while it waits
        page.screenshot(path=str(shots / "agent-held-write.png"), full_page=True)
        page.fill("#note", "fine: those are public notes")
        page.click("button[value=approve]")
        page.wait_for_selector("#status:text('APPROVED')")
        run = approved.join()
        assert [(c.tool, c.status) for c in run.result.calls][-1] == ("github_add_issue_comment", "called")
        assert comment_bodies(github, "acme/widgets", 40).count(BODY) == 1

        fake.push(READ_SECRET, native_call("github_add_issue_comment", {**leak, "body": DENIED_BODY}), answer("no"))
        denied = AgentRun(agent_hub, base_url, redis_target)
        _open_pending(page, console, "github_add_issue_comment")
        page.fill("#note", "private keys stay private")
        page.click("button[value=deny]")
        page.wait_for_selector("#status:text('DENIED')")
        run = denied.join()
        last = run.result.calls[-1]
        assert (last.tool, last.status) == ("github_add_issue_comment", "denied")
        assert "private keys stay private" in last.result
        assert DENIED_BODY not in comment_bodies(github, "acme/widgets", 40)
        assert comment_bodies(github, "acme/widgets", 40).count(BODY) == 1  # still once

        page.goto(f"{console}/console/audit?caller=admin")
        audit = page.locator("table.audit").inner_text()
        assert "approved" in audit and "denied" in audit and "private keys stay private" in audit
        page.screenshot(path=str(shots / "audit-decisions.png"), full_page=True)
