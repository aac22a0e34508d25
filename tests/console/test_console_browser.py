"""The console in a real browser: Debian's Chromium driven by Playwright (never Playwright's own download).

An unattended client's held write appears, a person approves it in the page and the write happens once;
a denial stops the next one; the audit page finds both; an unauthenticated visit and a cross-site form
post are refused. Screenshots of every page go to the test's tmp dir (artefacts, not committed).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.responses import HTMLResponse
from starlette.routing import Route, Router

from tests.console.support import ADMIN, BackgroundCall, console_hub, notes, run_async, wait_for
from tests.support.http_server import serve_in_thread

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:  # .ci/run installs it (apt-get install chromium); never skipped silently
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (as root; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def _sign_in(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/approvals")


def _open_pending(page: Any, base: str, tool: str) -> None:
    def listed() -> bool:
        page.goto(f"{base}/console/approvals")
        return page.locator(f"a:text('{tool}')").count() > 0

    wait_for(listed)
    page.click(f"a:text('{tool}')")


def test_approve_and_deny_in_the_browser(browser: Any, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with console_hub(tmp_path) as (base, _):
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a narrow screen
        page = context.new_page()
        _sign_in(page, base, ADMIN)
        page.screenshot(path=str(shots / "approvals-empty.png"), full_page=True)

        approved = BackgroundCall(base, "notes_add_note", {"text": "ship <b>it</b>"})
        _open_pending(page, base, "notes_add_note")
        assert page.locator("#status").inner_text() == "PENDING"
        assert page.locator("#text").inner_text() == "ship <b>it</b>"  # shown as text, not markup
        page.screenshot(path=str(shots / "approval-detail.png"), full_page=True)
        page.fill("#note", "looks fine")
        page.click("button[value=approve]")
        page.wait_for_selector("#status:text('APPROVED')")
        result = approved.join()
        assert not result.is_error, result
        assert notes(base).count("ship <b>it</b>") == 1  # the write happened, once

        denied = BackgroundCall(base, "notes_add_note", {"text": "leak the secrets"})
        _open_pending(page, base, "notes_add_note")
        page.fill("#note", "no: that text is not ours to post")
        page.click("button[value=deny]")
        page.wait_for_selector("#status:text('DENIED')")
        result = denied.join()
        assert result.is_error and "no: that text is not ours to post" in str(result.content)
        assert "leak the secrets" not in notes(base)

        page.goto(f"{base}/console/audit?tool=notes_add_note")
        table = page.locator("table.audit").inner_text()
        assert "approved" in table and "denied" in table
        page.screenshot(path=str(shots / "audit.png"), full_page=True)
        for name in ("health", "catalog", "definitions"):
            page.goto(f"{base}/console/{name}")
            assert page.locator("h1").count() == 1
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        assert "notes_add_note" in page.goto(f"{base}/console/catalog").text()  # type: ignore[union-attr]
        context.close()
    assert len(list(shots.glob("*.png"))) == 6


def test_unauthenticated_and_cross_site_are_refused(browser: Any, tmp_path: Path) -> None:
    with console_hub(tmp_path) as (base, app):
        stranger = browser.new_context()
        page = stranger.new_page()
        page.goto(f"{base}/console/approvals")
        assert page.url == f"{base}/console/login"  # sent to sign in, nothing shown
        stranger.close()

        waiting = BackgroundCall(base, "notes_add_note", {"text": "forged approval?"})
        queue = app.console.console.queue
        pending = wait_for(lambda: run_async(queue.list).items)
        target = f"{base}/console/approvals/{pending[0].id}/decide"
        # A page on another origin (localhost, not 127.0.0.1) with a form aimed at the console.
        attack = f"""<!doctype html><form method="post" action="{target}">
            <input name="decision" value="approve"><input name="csrf" value="guess"><input name="note" value="x">
            <button id="go" type="submit">win a prize</button></form>"""
        evil = Router(routes=[Route("/", lambda request: HTMLResponse(attack))])
        with serve_in_thread(evil) as evil_base:
            context = browser.new_context()
            page = context.new_page()
            _sign_in(page, base, ADMIN)  # the victim is signed in
            page.goto(evil_base.replace("127.0.0.1", "localhost") + "/")
            with page.expect_navigation():
                page.click("#go")
            assert "Refused" in page.content()
            page.screenshot(path=str(tmp_path / "cross-site-refused.png"))
            context.close()
        assert run_async(queue.get, pending[0].id).status == "pending"
        run_async(lambda: queue.decide(pending[0].id, False, "test", "cleanup"))
        assert waiting.join().is_error
