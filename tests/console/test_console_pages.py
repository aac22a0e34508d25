"""The console's read pages over HTTP: audit filters, paging and exports, health, catalog, sessions."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import anyio
import httpx2
from jinja2 import Environment, PackageLoader

from mcp_hub.approvals import HoldRequest
from mcp_hub.console.queue import view
from mcp_hub.console.session import COOKIE, Signer
from tests.console.support import ADMIN, AGENT, VIEWER, console_hub, csrf_of, login

HOSTILE = "<img src=x onerror=alert(1)>"


def _audit_lines(path: Path, count: int, **fields: object) -> None:
    with path.open("a") as handle:
        for i in range(count):
            entry = {"time": f"2026-11-{1 + i % 28:02d}T10:00:{i % 60:02d}.000Z", "transport": "http",
                     "caller": "bot", "tool": "notes_add_note", "arguments": {"text": f"n{i}"}, "outcome": "ok",
                     "duration_ms": 1.0} | fields  # fmt: skip
            handle.write(json.dumps(entry) + "\n")


def test_audit_filters_paging_and_exports(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    _audit_lines(log, 120)
    _audit_lines(log, 3, caller="mallory", outcome="denied", tool="notes_delete_notes")
    _audit_lines(log, 1, caller="leaky", arguments={"text": f"token {ADMIN}", "formula": "=HYPERLINK(1)"})
    log.open("a").write("{torn line\n")
    with console_hub(tmp_path) as (base, _), httpx2.Client() as http:
        login(http, base, ADMIN)
        first = http.get(f"{base}/console/audit", params={"caller": "bot"}).text
        assert first.count("<tr>") == 1 + 50 and "Older</a>" in first and "Newer</a>" not in first
        last = http.get(f"{base}/console/audit", params={"caller": "bot", "page": "2"}).text
        assert last.count("<tr>") == 1 + 20 and "Older</a>" not in last and "Newer</a>" in last
        denied = http.get(f"{base}/console/audit", params={"outcome": "denied", "connector": "notes"}).text
        assert denied.count("notes_delete_notes") == 3 and "mallory" in denied
        assert "No entries match" in http.get(f"{base}/console/audit", params={"connector": "github"}).text
        window = http.get(f"{base}/console/audit.jsonl", params={"caller": "bot", "since": "2026-11-27",
                                                                  "until": "2026-11-28"}).text  # fmt: skip
        times = [json.loads(line)["time"][:10] for line in window.splitlines()]
        assert times and set(times) == {"2026-11-27", "2026-11-28"}
        exported = http.get(f"{base}/console/audit.csv", params={"caller": "leaky"})
        assert exported.headers["content-disposition"] == 'attachment; filename="mcp-hub-audit.csv"'
        assert ADMIN not in exported.text and "***" in exported.text  # no token, even one the log kept
        [row] = list(csv.DictReader(io.StringIO(exported.text)))
        assert json.loads(row["arguments"])["formula"] == "=HYPERLINK(1)"  # JSON cell: not a formula
        assert ADMIN not in http.get(f"{base}/console/audit", params={"caller": "leaky"}).text
        # the console's own actions are audited, and searchable
        assert "console.export" in http.get(f"{base}/console/audit", params={"connector": "console"}).text


def test_health_and_catalog(tmp_path: Path) -> None:
    with console_hub(tmp_path) as (base, _), httpx2.Client() as http:
        login(http, base, VIEWER)
        health = http.get(f"{base}/console/health").text
        assert re.search(r"notes/default</td><td><span[^>]*>ENABLED", health)
        assert "No federated server configured." in health
        checked = http.get(f"{base}/console/health", params={"check": "1"}).text
        assert "Checked now" in checked
        catalog = http.get(f"{base}/console/catalog").text
        row = re.search(
            r"<td>notes_add_note</td><td>notes.write</td><td>write</td>\s*<td>(\d+)</td>\s*<td>([^<]+)", catalog
        )
        assert row is not None and int(row.group(1)) > 0 and row.group(2) == "no (your policy)"
        assert re.search(r"<td>notes_delete_notes</td>.*?no \(hub policy\)", catalog, re.S)
    with console_hub(tmp_path / "admin") as (base, _), httpx2.Client() as http:
        login(http, base, ADMIN)
        catalog = http.get(f"{base}/console/catalog").text
        assert re.search(r"<td>notes_add_note</td>.*?<td>yes</td>", catalog, re.S)


def test_sessions_signed_by_another_key_and_logout(tmp_path: Path) -> None:
    with console_hub(tmp_path) as (base, app), httpx2.Client() as http:
        console = app.console.console
        session = console.signer.new_session("admin", "token", "admin", "", 600)
        forged = Signer("another-key-" + "x" * 40).cookie_value(session)
        with httpx2.Client(cookies={COOKIE: forged}) as forger:
            assert forger.get(f"{base}/console/approvals").status_code == 303
        # the control: the same session signed with the console's key would be accepted (if its token matched)
        good = console.signer.new_session("admin", "token", "admin", console.signer.fingerprint(ADMIN), 600)
        with httpx2.Client(cookies={COOKIE: console.signer.cookie_value(good)}) as holder:
            assert holder.get(f"{base}/console/approvals").status_code == 200
        expired = console.signer.new_session("admin", "token", "admin", console.signer.fingerprint(ADMIN), -1)
        with httpx2.Client(cookies={COOKIE: console.signer.cookie_value(expired)}) as late:
            assert late.get(f"{base}/console/approvals").status_code == 303
        # a login post without the login form's cookie is refused (login CSRF)
        page = http.get(f"{base}/console/login")
        with httpx2.Client() as other:
            answer = other.post(f"{base}/console/login", data={"csrf": csrf_of(page.text), "token": ADMIN})
            assert answer.status_code == 403
        csrf = login(http, base, AGENT)
        copied = http.cookies[COOKIE]  # what a stolen copy of the cookie would carry
        assert http.post(f"{base}/console/logout", data={"csrf": "wrong"}).status_code == 403
        with httpx2.Client(cookies={COOKIE: copied}) as thief:  # the control: valid before the logout
            assert thief.get(f"{base}/console/approvals").status_code == 200
        out = http.post(f"{base}/console/logout", data={"csrf": csrf})
        assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]
        assert http.get(f"{base}/console/approvals").status_code == 303
        with httpx2.Client(cookies={COOKIE: copied}) as thief:  # signed out on the server, not only in this browser
            assert thief.get(f"{base}/console/approvals").status_code == 303


def test_autoescaping_is_what_keeps_hostile_text_inert(tmp_path: Path) -> None:
    """The control for the escaping tests: the same template without autoescape emits the markup."""
    with console_hub(tmp_path) as (_, app):
        queue = app.console.console.queue
        request = HoldRequest(caller="agent", transport="http", tool="notes_add_note", arguments={"text": HOSTILE})
        record = anyio.run(queue.submit, request)
    for autoescape in (True, False):
        env = Environment(loader=PackageLoader("mcp_hub.console", "templates"), autoescape=autoescape)
        env.filters["pretty"] = lambda value, indent=None: json.dumps(value, indent=indent)
        page = env.get_template("approval.html").render(viewer=None, csrf="", a=view(record), tab="approvals")
        assert (HOSTILE in page) is (not autoescape)


def test_sign_in_attempts_are_rate_limited(tmp_path: Path) -> None:
    import time

    from mcp_hub.console import app as console_app

    if time.time() % 60 > 50:  # the limit counts per clock minute: start the attempts inside one
        time.sleep(60.1 - time.time() % 60)
    with console_hub(tmp_path) as (base, _), httpx2.Client() as http:
        page = http.get(f"{base}/console/login").text
        codes = [
            http.post(f"{base}/console/login", data={"csrf": csrf_of(page), "token": f"guess-{i:020d}"}).status_code
            for i in range(console_app.LOGIN_ATTEMPTS_PER_MINUTE + 1)
        ]
        assert codes[:-1] == [401] * console_app.LOGIN_ATTEMPTS_PER_MINUTE and codes[-1] == 429
        right = http.post(f"{base}/console/login", data={"csrf": csrf_of(page), "token": ADMIN})
        assert right.status_code == 429 and "retry-after" in right.headers  # even the right token waits


def test_health_error_rates_and_budgets(tmp_path: Path) -> None:
    from mcp_hub import metrics
    from tests.console.support import run_async
    from tests.core.test_http import client_for

    with console_hub(tmp_path, {"MCP_HUB_HTTP__METRICS": "true"}) as (base, _), httpx2.Client() as http:

        async def calls() -> None:
            client, transport = client_for(f"{base}/mcp", ADMIN)
            async with transport, client:
                assert not (await client.call_tool("notes_list_notes", {})).is_error
                assert (await client.call_tool("notes_get_note", {"note_id": 99})).is_error

        run_async(calls)
        metrics.record_rate_limit("notes", "default", 42)  # as an upstream's rate-limit headers would
        login(http, base, VIEWER)
        health = http.get(f"{base}/console/health").text
        last_hour = health[health.index("Errors in the last hour") : health.index("Errors since")]
        assert "<td>notes</td><td>2</td><td>1</td><td>50%</td>" in last_hour  # from the audit log
        since_start = health[health.index("Errors since") :]
        found = re.search(r"<td>notes</td><td>(\d+)</td><td>(\d+)</td>", since_start)  # counters of this process
        assert found is not None and int(found.group(1)) >= 2 and int(found.group(2)) >= 1
        assert "<td>notes/default</td><td>42</td>" in health
