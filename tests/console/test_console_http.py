"""The console over plain HTTP: authentication, CSRF and origin checks, security headers, escaping."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import httpx2
import pytest

from mcp_hub.approvals import HoldRequest
from tests.console.support import ADMIN, CSP, VIEWER, console_hub, login

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _submit(app: object, **fields: object) -> str:
    queue = app.console.console.queue  # type: ignore[attr-defined]
    request = HoldRequest(caller="agent", transport="http", tool="notes_add_note", arguments={"text": HOSTILE})
    for key, value in fields.items():
        setattr(request, key, value)
    return str(anyio.run(queue.submit, request).id)


def test_off_by_default(tmp_path: Path) -> None:
    with console_hub(tmp_path, {"MCP_HUB_CONSOLE": "false"}) as (base, _):
        answer = httpx2.get(f"{base}/console/login")
        assert answer.status_code == 401  # not a console: the guard wants a bearer token like for /mcp
        assert "console" not in answer.text


def test_unauthenticated_requests_are_refused(tmp_path: Path) -> None:
    with console_hub(tmp_path) as (base, app), httpx2.Client() as http:
        approval = _submit(app)
        for path in ("/console/approvals", f"/console/approvals/{approval}", "/console/audit", "/console/health",
                     "/console/catalog", "/console/definitions"):  # fmt: skip
            answer = http.get(base + path)
            assert answer.status_code == 303 and answer.headers["location"] == "/console/login", path
            assert HOSTILE not in answer.text
        assert http.get(f"{base}/console/audit.csv").status_code == 401
        # a forged cookie is nobody
        with httpx2.Client(cookies={"mcp_hub_console": "e30.AAAA"}) as forger:
            assert forger.get(f"{base}/console/approvals").status_code == 303
        refused = http.post(f"{base}/console/approvals/{approval}/decide", data={"decision": "approve"})
        assert refused.status_code == 401
        # a wrong token at the login form
        page = http.get(f"{base}/console/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        wrong = http.post(f"{base}/console/login", data={"csrf": csrf, "token": "not-a-token-0123456789abc"})
        assert wrong.status_code == 401 and "mcp_hub_console=" not in wrong.headers.get("set-cookie", "")
        queue = app.console.console.queue
        assert anyio.run(queue.get, approval).status == "pending"


def test_bearer_token_reads_but_never_writes(tmp_path: Path) -> None:
    with console_hub(tmp_path) as (base, app):
        approval = _submit(app)
        headers = {"authorization": f"Bearer {ADMIN}"}
        assert httpx2.get(f"{base}/console/approvals", headers=headers).status_code == 200
        posted = httpx2.post(f"{base}/console/approvals/{approval}/decide", headers=headers,
                             data={"decision": "approve"})  # fmt: skip
        assert posted.status_code == 401
        assert anyio.run(app.console.console.queue.get, approval).status == "pending"


def test_security_headers_on_every_response(tmp_path: Path) -> None:
    with console_hub(tmp_path) as (base, _), httpx2.Client() as http:
        answers = [http.get(f"{base}/console/login"), http.get(f"{base}/console/approvals"),
                   http.get(f"{base}/console/audit.jsonl"), http.get(f"{base}/console/static/console.css")]  # fmt: skip
        login(http, base, ADMIN)
        answers.append(http.get(f"{base}/console/approvals"))
        for answer in answers:
            assert answer.headers["content-security-policy"] == CSP
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "same-origin"
        cookie = next(c for c in answers[-1].request.headers.get("cookie", "").split("; ") if c)
        assert cookie.startswith("mcp_hub_console=")
        set_cookie = http.get(f"{base}/console/login").headers["set-cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/console" in set_cookie
        # no inline script, no inline style, anywhere
        page = answers[-1].text
        assert "<script" not in page and "style=" not in page


@pytest.mark.parametrize(
    ("case", "headers", "csrf"),
    [
        ("no csrf token", {}, None),
        ("wrong csrf token", {}, "x" * 43),
        ("foreign Origin", {"origin": "https://evil.example"}, "good"),
        ("cross-site fetch", {"sec-fetch-site": "cross-site"}, "good"),
        ("null Origin", {"origin": "null"}, "good"),
        ("same origin, right token", {"sec-fetch-site": "same-origin"}, "good"),
    ],
)
def test_cross_site_posts_are_refused(tmp_path: Path, case: str, headers: dict[str, str], csrf: str | None) -> None:
    with console_hub(tmp_path) as (base, app), httpx2.Client() as http:
        approval = _submit(app)
        good = login(http, base, ADMIN)
        data = {"decision": "approve", "note": "ok"}
        if csrf is not None:
            data["csrf"] = good if csrf == "good" else csrf
        if "origin" not in headers and case.startswith("same"):
            headers = {**headers, "origin": base}
        answer = http.post(f"{base}/console/approvals/{approval}/decide", data=data, headers=headers)
        status = anyio.run(app.console.console.queue.get, approval).status
        if case.startswith("same origin"):  # the control: the same request with the checks satisfied works
            assert answer.status_code == 303 and status == "approved"
        else:
            assert answer.status_code == 403, case
            assert status == "pending", case


def test_a_session_from_another_key_or_a_rotated_token_is_refused(tmp_path: Path) -> None:
    with console_hub(tmp_path) as (base, app), httpx2.Client() as http:
        login(http, base, ADMIN)
        assert http.get(f"{base}/console/approvals").status_code == 200
        guard = app
        token = next(t for t in guard.tokens if t.name == "admin")
        old = token.secret.get_secret_value()
        token.secret._value = "rotated-token-0123456789abcdef"  # the token file was rewritten
        try:
            assert http.get(f"{base}/console/approvals").status_code == 303
        finally:
            token.secret._value = old
        assert http.get(f"{base}/console/approvals").status_code == 200


def test_only_approvers_decide(tmp_path: Path) -> None:
    with console_hub(tmp_path) as (base, app), httpx2.Client() as http:
        approval = _submit(app)
        csrf = login(http, base, VIEWER)
        page = http.get(f"{base}/console/approvals/{approval}").text
        assert "Approve</button>" not in page
        answer = http.post(f"{base}/console/approvals/{approval}/decide",
                           data={"decision": "approve", "csrf": csrf, "note": ""})  # fmt: skip
        assert answer.status_code == 403
        assert anyio.run(app.console.console.queue.get, approval).status == "pending"


def test_hostile_text_shows_as_text(tmp_path: Path) -> None:
    with console_hub(tmp_path) as (base, app), httpx2.Client() as http:
        approval = _submit(app, target=HOSTILE, reasons=[HOSTILE])
        login(http, base, ADMIN)
        page = http.get(f"{base}/console/approvals/{approval}").text
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
        listing = http.get(f"{base}/console/approvals").text
        assert "<img src=x" not in listing and "&lt;img src=x" in listing
        # and the check bites: an unescaped rendering would be caught
        assert "<img src=x" in HOSTILE


def test_audit_search_and_export(tmp_path: Path) -> None:
    with console_hub(tmp_path) as (base, app), httpx2.Client() as http:
        approval = _submit(app)
        csrf = login(http, base, ADMIN)
        http.post(f"{base}/console/approvals/{approval}/decide",
                  data={"decision": "deny", "note": "not today", "csrf": csrf})  # fmt: skip
        found = http.get(f"{base}/console/audit", params={"tool": "console.*"}).text
        assert "console.login" in found
        denied = http.get(f"{base}/console/audit.jsonl", params={"caller": "admin"}).text
        assert approval in denied and "not today" in denied
        none = http.get(f"{base}/console/audit.csv", params={"caller": "nobody-at-all"}).text
        assert none.strip() == "time,caller,transport,tool,connector,outcome,duration_ms,arguments,approval"
        assert ADMIN not in http.get(f"{base}/console/audit.csv").text


def test_mcp_hub_serve_console_flag(tmp_path: Path) -> None:
    """The real `mcp-hub serve --transport http --console` in a subprocess; `--console` with stdio is an error."""
    import os
    import subprocess
    import sys

    from tests.support.http_server import free_port, wait_healthy

    root = Path(__file__).resolve().parents[2]
    hub = str(Path(sys.executable).with_name("mcp-hub"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_") and k != "DATABASE_URL"}
    env |= {"PYTHONPATH": str(root), "MCP_HUB_HTTP__TOKENS__ADMIN__TOKEN": ADMIN, "MCP_HUB_CONNECTORS": "[]"}
    port = free_port()
    proc = subprocess.Popen(
        [hub, "serve", "--transport", "http", "--port", str(port), "--console"], env=env,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_healthy(proc, port, 30, "hub did not start")
        with httpx2.Client() as http:
            base = f"http://127.0.0.1:{port}"
            assert http.get(f"{base}/console/login").headers["content-security-policy"] == CSP
            login(http, base, ADMIN)
            assert "signed in as admin" in http.get(f"{base}/console/approvals").text
    finally:
        proc.terminate()
        proc.wait(10)
    refused = subprocess.run([hub, "serve", "--console"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--console needs --transport http" in refused.stderr
