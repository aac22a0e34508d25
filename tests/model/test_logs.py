"""One log format for every long-running command: `--log-format text|json`, redacted, quiet libraries,
progress without terminal codes off a terminal."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_hub import logs
from mcp_hub.redaction import Redactor
from model.eval.progress import Progress
from tests.model.fake_openai import FakeOpenAI, answer, prompted_call
from tests.pg import TestDatabase

ROOT = Path(__file__).resolve().parents[2]
HUB = str(Path(sys.executable).with_name("mcp-hub"))
SECRET = "s3cr3t-value-never-logged-42"  # no token shape: only the configured value can mask it
CONTROL = ("\x1b", "\r")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logs._state.update(format="text", redactor=None)


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_json_lines_have_the_webhook_event_keys() -> None:
    direct = io.StringIO()
    logs.EventLog(stream=direct)("job_started", key="k1", attempt=1)
    through_logging = io.StringIO()
    logs.setup_logging("INFO", "json", stream=through_logging)
    logs.EventLog()("job_started", key="k1", attempt=1)
    logging.getLogger("mcp_hub.server").warning("upstream %s is slow", "github")
    logs.progress("[1/2] reviewing part 1", done=1, total=2)
    event, library, step = (json.loads(line) for line in lines(through_logging))
    assert set(event) == set(json.loads(direct.getvalue())) == {"time", "level", "event", "key", "attempt"}
    assert event["event"] == "job_started" and event["level"] == "info" and event["time"].endswith("Z")
    assert library == library | {"level": "warning", "event": "upstream github is slow", "logger": "mcp_hub.server"}
    assert step["event"] == "[1/2] reviewing part 1" and (step["done"], step["total"]) == (1, 2)
    logs.progress("step", level="critical", event="other")  # fields cannot pose as the line's own keys
    posing = json.loads(lines(through_logging)[-1])
    assert (posing["level"], posing["event"]) == ("info", "step")


@pytest.mark.parametrize("protected", [True, False])
def test_a_secret_never_reaches_json_logs(protected: bool) -> None:
    """In the message, its arguments, an event's fields and a traceback; shown to leak when not protected."""
    out = io.StringIO()
    logs.setup_logging("INFO", "json", stream=out)
    if protected:
        logs.protect([SECRET])
    logging.getLogger("connectors.github").warning("token %s refused", SECRET)
    logs.EventLog()("job_failed", "error", error=f"auth failed for {SECRET}", nested={"dsn": SECRET})
    try:
        raise RuntimeError(f"boom with {SECRET}")
    except RuntimeError:
        logging.getLogger("model.webhook").exception("job crashed")
    text = out.getvalue()
    assert len(lines(out)) == 3 and all(json.loads(line) for line in lines(out))
    assert (SECRET in text) is not protected
    if protected:
        assert text.count("***") >= 4 and "Traceback" in text


def test_a_secret_never_reaches_text_logs() -> None:
    out = io.StringIO()
    logs.setup_logging("INFO", "text", redactor=Redactor([SECRET]), stream=out)
    logs.EventLog()("job_failed", "error", error=f"auth failed for {SECRET}")
    logging.getLogger("x").error("and %s", SECRET)
    assert SECRET not in out.getvalue() and out.getvalue().count("***") == 2


def test_library_noise_is_held_back_unless_debug() -> None:
    out = io.StringIO()
    logs.setup_logging("INFO", "text", stream=out)
    for name in ("httpx2", "urllib3.connectionpool", "googleapiclient.discovery_cache", "uvicorn.access"):
        logging.getLogger(name).info("HTTP Request: GET http://x/ 200")
    logging.getLogger("stevedore.extension").error("Could not load 'sarif': No module named 'sarif_om'")
    logging.getLogger("stevedore.extension").error("Could not load 'B602': broken")  # a real problem stays
    logging.getLogger("httpx2").warning("connection pool full")  # warnings still show
    assert lines(out)[0].endswith("Could not load 'B602': broken") and "connection pool full" in lines(out)[1]
    assert len(lines(out)) == 2
    debug = io.StringIO()
    logs.setup_logging("DEBUG", "text", stream=debug)
    logging.getLogger("httpx2").info("HTTP Request: GET http://x/ 200")
    logging.getLogger("stevedore.extension").error("Could not load 'sarif': No module named 'sarif_om'")
    assert len(lines(debug)) == 2


def test_bandit_sarif_line_is_kept_out() -> None:
    """The real scanner: bandit's plug-in loader reports SARIF's missing package through stevedore."""
    from model.scanner.findings import Fragment
    from model.scanner.python import bandit_findings

    code = "import subprocess\nsubprocess.call(x, shell=True)\n"
    for level, shown in (("INFO", False), ("DEBUG", True)):
        out = io.StringIO()
        logs.setup_logging(level, "text", stream=out)
        sys.modules.pop("bandit.core.extension_loader", None)  # bandit loads its plug-ins once per process
        for name in [m for m in sys.modules if m.startswith("bandit")]:
            sys.modules.pop(name)
        findings, _ = bandit_findings(Fragment(code, "a.py", "file", "python"))
        assert findings  # bandit ran
        assert ("sarif" in out.getvalue()) is shown


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # a pty's master reads EIO once the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()


@pytest.mark.parametrize("tty", [False, True])
def test_eval_progress_uses_terminal_codes_only_on_a_terminal(tty: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real pipe (CI logs) and a real pseudo-terminal, as stderr would be."""
    import pty

    monkeypatch.setenv("TERM", "xterm")
    reader, writer = pty.openpty() if tty else os.pipe()
    if tty:  # no newline translation, so the text read is the text written
        import termios

        attrs = termios.tcgetattr(writer)
        attrs[1] &= ~termios.OPOST
        termios.tcsetattr(writer, termios.TCSANOW, attrs)
    with os.fdopen(writer, "w", buffering=1) as stream:
        logs.setup_logging("WARNING", "text", stream=stream)
        bar = Progress(40, stream=stream)
        for i in range(40):
            bar.step(f"case {i}")
        bar.close()
        logging.getLogger().handlers.clear()
    text = _read_all(reader)
    assert any(code in text for code in CONTROL) is tty
    if not tty:  # plain lines, about one per tenth of the run, the last one included
        shown = text.splitlines()
        assert 5 <= len(shown) <= 12 and shown[-1].startswith("[40/40] case 39")
    else:
        assert "\r[" in text and "40/40 case 39" in text


def agent_run(fake: FakeOpenAI, base_url: str, dsn: str, *flags: str, **extra: str) -> subprocess.CompletedProcess[str]:
    fake.push(prompted_call("postgres_query", {"sql": "SELECT 1"}), answer("one"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": dsn,
        "MCP_HUB_CONNECTORS": "postgres",
        "MCP_HUB_MODEL__NAME": fake.models[0],
        **extra,
    }
    return subprocess.run(
        [HUB, "agent", "Say one", "--base-url", base_url, "--model", "r1-ja-14b", *flags],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_a_real_command_logs_json_lines_without_library_noise(
    fake: FakeOpenAI, base_url: str, pg_dsn: TestDatabase
) -> None:
    """`mcp-hub agent` against a model server, stderr a pipe: every line JSON, no per-request HTTP line,
    no terminal code; with DEBUG the HTTP client's lines are there (the quieting is what holds them back)."""
    done = agent_run(fake, base_url, pg_dsn.reader_dsn, "--log-format", "json", "--log-level", "INFO")
    assert done.returncode == 0 and done.stdout.strip() == "one", done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    assert [e["event"] for e in entries if e["event"].startswith("agent_")][:2] == [
        "agent_tool_call",
        "agent_tool_result",
    ]
    assert all({"time", "level", "event"} <= set(e) for e in entries)
    assert "HTTP Request" not in done.stderr and not any(code in done.stderr for code in CONTROL)
    loud = agent_run(fake, base_url, pg_dsn.reader_dsn, "--log-format", "json", "--log-level", "DEBUG")
    assert loud.returncode == 0
    assert any(json.loads(line).get("logger") == "httpx2" for line in loud.stderr.splitlines())


def test_the_default_output_of_a_real_command_is_text_without_noise(
    fake: FakeOpenAI, base_url: str, pg_dsn: TestDatabase
) -> None:
    done = agent_run(fake, base_url, pg_dsn.reader_dsn)
    assert done.returncode == 0, done.stderr
    assert "→ postgres_query" in done.stderr and "✓ postgres_query" in done.stderr
    assert "HTTP Request" not in done.stderr and "sarif" not in done.stderr and "\x1b" not in done.stderr
    # the environment chooses the format when the flag does not
    as_json = agent_run(fake, base_url, pg_dsn.reader_dsn, MCP_HUB_LOG_FORMAT="json")
    assert as_json.returncode == 0 and as_json.stderr
    assert all(json.loads(line)["event"] for line in as_json.stderr.splitlines())


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_serve_ready_line_follows_the_log_format(fmt: str, pg_dsn: TestDatabase) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_")}
    env |= {"PYTHONPATH": str(ROOT), "DATABASE_URL": pg_dsn.reader_dsn, "MCP_HUB_CONNECTORS": "postgres"}
    done = subprocess.run(
        [HUB, "serve", "--log-format", fmt], input="", capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    first = done.stderr.splitlines()[0]
    ready = json.loads(first)["event"] if fmt == "json" else first
    assert ready.startswith("mcp-hub ") and " ready on stdio: " in ready
    assert pg_dsn.reader_dsn not in done.stderr


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_serve_over_http_logs_json_without_per_request_lines(level: str, pg_dsn: TestDatabase) -> None:
    """A real `serve --transport http` with a client session and a tool call: JSON lines only, the bearer
    token in none, no per-session line from the MCP session manager and no access log; DEBUG lets them in."""
    import anyio
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    from tests.cli.test_transports import hub_env, hub_process
    from tests.support.http_server import free_port

    token = "log-test-token-0123456789abcdef"
    port = free_port()
    env = hub_env(pg_dsn.reader_dsn, MCP_HUB_HTTP__TOKENS__CI__TOKEN=token)
    args = ["--transport", "http", "--port", str(port), "--log-format", "json", "--log-level", level]

    async def session() -> None:
        http = create_mcp_http_client(headers={"authorization": f"Bearer {token}"})
        async with http, Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client:
            await client.call_tool("postgres_query", {"sql": "SELECT 1"})

    with hub_process(args, env, port) as proc:
        assert httpx2.get(f"http://127.0.0.1:{port}/mcp", headers={"authorization": f"Bearer {token}x"}).status_code
        anyio.run(session)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    entries = [json.loads(line) for line in stderr.splitlines()]
    assert any(" ready on http://127.0.0.1:" in e["event"] for e in entries)
    assert token not in stderr
    session_lines = [e for e in entries if e.get("logger", "").startswith("mcp.server.streamable_http")]
    assert bool(session_lines) is (level == "DEBUG")
    assert not [e for e in entries if e.get("logger") == "uvicorn.access"] or level == "DEBUG"
