"""`mcp-hub` as a user starts it, where it goes wrong: bad ports and hosts, a port in use, typos in
`--toolsets`, test variables in the environment, OpenTelemetry asked for by the environment but absent,
`python -m mcp_hub.cli`, and the one line stdio `serve` writes when it is ready."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_hub.install import install_hint
from tests.support.http_server import free_port

ROOT = Path(__file__).resolve().parents[2]
HUB = str(Path(sys.executable).with_name("mcp-hub"))
CREDENTIALS = ("DATABASE_URL", "GITHUB_TOKEN", "GITLAB_TOKEN", "SLACK_BOT_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS")


def clean_env(**extra: str) -> dict[str, str]:
    """No hub configuration but `extra`; this checkout's code first (the venv may hold another editable copy)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_HUB_", "OTEL_")) and k not in CREDENTIALS}
    # GitHub with a token (enabled, never contacted), Slack without one (disabled, with the reason).
    # `MCP_HUB_CONNECTORS` leaves the others out (Postgres would otherwise be on, on its embedded database).
    return (
        env
        | {
            "PYTHONPATH": str(ROOT),
            "MCP_HUB_CONNECTORS": "github,slack",
            "GITHUB_TOKEN": "ghp_" + "x" * 36,
            "MCP_HUB_CATALOG_CACHE": "false",
        }
        | extra
    )


def run(args: list[str], env: dict[str, str] | None = None, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HUB, *args], env=env or clean_env(), capture_output=True, text=True, timeout=60, **kwargs)  # type: ignore[call-overload]


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_a_port_out_of_range_is_one_line_and_exit_2() -> None:
    done = run(["serve", "--transport", "http", "--port", "99999"])
    assert done.returncode == 2
    assert one_line(done) == "mcp-hub: --port 99999: a port is a number from 0 to 65535"


def test_a_port_in_use_is_one_line_and_nothing_says_listening() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run(["serve", "--transport", "http", "--port", str(port)])
    assert done.returncode == 1
    line = one_line(done)
    assert line.startswith(f"mcp-hub: cannot listen on 127.0.0.1:{port}: ") and "in use" in line
    assert "listening" not in done.stderr and "Traceback" not in done.stderr


def test_a_host_that_does_not_resolve_is_one_line() -> None:
    done = run(["serve", "--transport", "sse", "--host", "no-such-host.invalid", "--port", str(free_port())])
    # A name that is not loopback needs authentication first: with a token it gets as far as binding.
    assert done.returncode == 2 and "refusing to bind no-such-host.invalid" in one_line(done)
    token_env = clean_env(MCP_HUB_HTTP__TOKENS__ME__TOKEN="a-long-enough-token-0123456789abcdef")
    done = run(["serve", "--transport", "sse", "--host", "no-such-host.invalid"], token_env)
    assert done.returncode == 1
    assert one_line(done).startswith("mcp-hub: cannot listen on no-such-host.invalid:8000: unknown host")


def test_unknown_toolsets_are_refused_with_the_valid_ones() -> None:
    done = run(["tools", "--toolsets", "default,pull_requestz"])
    assert done.returncode == 2
    line = one_line(done)
    assert line.startswith("mcp-hub: --toolsets: unknown pull_requestz; valid: ")
    assert "github" in line and "default" in line and "all" in line
    assert run(["tools", "--toolsets", "github,slack.read,all"]).returncode == 0


def test_test_variables_in_the_environment_leave_the_hub_alone() -> None:
    env = clean_env(
        MCP_HUB_TEST_DSN="postgresql://postgres@127.0.0.1:5432/postgres",
        MCP_HUB_TEST_REDIS_URL="redis://127.0.0.1:6379/0",
        MCP_HUB_LIVE_MODEL_URL="http://127.0.0.1:9/v1",
    )
    done = run(["config", "check", "--no-connect"], env)
    assert done.returncode == 0, done.stderr
    assert "enabled  github/default" in done.stdout


def test_python_dash_m_config_check() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mcp_hub.cli", "config", "check", "--no-connect", "--json"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {(c["connector"], c["enabled"]) for c in report["connectors"]} >= {("github", True), ("slack", False)}


def test_stdio_says_once_what_is_ready_and_an_absent_opentelemetry_only_warns() -> None:
    # OpenTelemetry's SDK and exporter made unimportable in the real process: what the `all` extra gives
    # without `tracing` (the MCP SDK brings opentelemetry-api only).
    starter = (
        "import sys; sys.modules['opentelemetry.sdk'] = None; "
        "sys.modules['opentelemetry.exporter'] = None; from mcp_hub.cli import main; sys.exit(main())"
    )
    env = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318")
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    done = subprocess.run(
        [sys.executable, "-c", starter, "serve"],
        input=json.dumps(init) + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.splitlines()[0])
    assert answer["result"]["serverInfo"]["name"] == "mcp-hub"
    stderr = [line for line in done.stderr.splitlines() if line.strip()]
    otel = [line for line in stderr if "OTEL_EXPORTER_OTLP_ENDPOINT" in line]
    ready = [line for line in stderr if " ready on stdio: " in line]
    assert len(otel) == 1 and install_hint("tracing") in otel[0]
    assert len(ready) == 1, stderr
    assert "enabled: github/default" in ready[0]
    assert "not configured: slack (`mcp-hub config check` says what each needs)" in ready[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("token", "in_file"), [("", False), ("s3kr1t-x", False), ("s3kr1t-x\n", True)])
def test_empty_or_short_static_tokens_are_refused_at_start(token: str, in_file: bool, tmp_path: Path) -> None:
    if in_file:
        (tmp_path / "token").write_text(token)
        env = clean_env(MCP_HUB_HTTP__TOKENS__ME__TOKEN_FILE=str(tmp_path / "token"))
        token = token.strip()
    else:
        env = clean_env(MCP_HUB_HTTP__TOKENS__ME__TOKEN=token)
    done = run(["serve", "--transport", "http", "--host", "0.0.0.0", "--port", str(free_port())], env)
    assert done.returncode == 2
    line = one_line(done)
    assert "http.tokens.me.token" in line and "at least 16 characters" in line
    assert not token or token not in line  # the value itself is never echoed
