"""`hub.console = true` from the configuration with the stdio transport: the real `mcp-hub serve` says on stderr
that the console needs the HTTP transport (it used to say nothing), and still serves stdio, since one config
file may serve both transports. `--console` with stdio stays an error (tests/console/test_console_http.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_hub.cli import STDIO_CONSOLE


def serve_stdio(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parents[2]
    hub = str(Path(sys.executable).with_name("mcp-hub"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_") and k != "DATABASE_URL"}
    env |= {"PYTHONPATH": str(root), "MCP_HUB_CONNECTORS": "[]", **extra}
    # stdin at its end: the stdio server starts, reads nothing and stops.
    return subprocess.run(
        [hub, "serve"], env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("source", ["env", "toml"])
def test_the_console_asked_for_on_stdio_is_said_on_stderr(tmp_path: Path, source: str) -> None:
    if source == "env":
        done = serve_stdio(tmp_path, MCP_HUB_CONSOLE="true")
    else:
        (tmp_path / "hub.toml").write_text("[hub]\nconsole = true\n")
        done = serve_stdio(tmp_path, MCP_HUB_CONFIG=str(tmp_path / "hub.toml"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert STDIO_CONSOLE in done.stderr and "WARNING" in done.stderr
    assert "ready on stdio" in done.stderr and done.stdout == ""  # stdout stays the protocol's


def test_no_console_no_warning(tmp_path: Path) -> None:
    done = serve_stdio(tmp_path)
    assert done.returncode == 0 and "ready on stdio" in done.stderr
    assert "console" not in done.stderr
