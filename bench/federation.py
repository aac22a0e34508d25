"""Per-call latency through the hub against the same MCP server attached directly; and start-up.

Latency: one MCP client calls a tool of a federated server through `mcp-hub serve` (a subprocess),
and the same tool on the same server attached directly (its own subprocess), interleaved in batches;
medians of every call, end to end through the SDK client. Cases:
- stdio: server-everything's `echo` (Node) and mcp-server-time's `get_current_time` (Python), the hub
  over stdio, each server under it over stdio;
- http: server-everything in its Streamable HTTP mode, the hub over Streamable HTTP (`--transport http`).
The hub runs with its defaults for an untrusted server (results fenced and cleaned, provenance,
policy, audit call path), the tools vouched read-only (`read_only`). Targets: 1.15x (stdio), 1.10x (HTTP).
A third path, `bench/bare_proxy.py` (a bare MCPServer forwarding to the same server through one SDK
client), is the floor of any proxy: an extra process and MCP session. `hub/proxy` is what the hub's
own layers cost on top of that hop; `hub/direct` includes the hop itself.

Start-up: time from spawn to the `tools/list` answer of `mcp-hub serve` (stdio, no connector
configured) with no federated server, and with one that never answers (a process that sleeps): the
second must not wait for it.

    python bench/federation.py [--calls 300] [--batch 25] [--startup-runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NODE_MODULES = Path(sys.prefix) / "conformance" / "node_modules"
EVERYTHING = NODE_MODULES / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
HUB = [sys.executable, "-c", "from mcp_hub.cli import main; raise SystemExit(main())"]


def node() -> str:
    found = sorted(NODE_MODULES.glob("node-linux-*/bin/node"))
    return str(found[0]) if found else "node"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port(port: int, timeout: float = 20) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def spawn(command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def hub_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_")}
    return env | {"XDG_CACHE_HOME": str(work / "cache"), "PYTHONPATH": str(ROOT)}


def write_config(work: Path, body: str) -> Path:
    config = work / "hub.toml"
    # the bench measures calls, not a person's review: each server is pinned on first use (`pin = "tofu"`)
    body = re.sub(r"^(\[servers\.[^\]]+\])$", r'\1\npin = "tofu"', body, flags=re.M)
    config.write_text("[hub]\nconnectors = []\n" + body)
    return config


Call = Callable[[], Awaitable[Any]]


async def timed_batches(paths: dict[str, Call], calls: int, batch: int) -> dict[str, float]:
    """Median seconds per call of each path, the paths taking turns batch by batch (order rotating)."""
    for call in paths.values():  # warm every path
        for _ in range(10):
            await call()
    times: dict[str, list[float]] = {name: [] for name in paths}
    names = list(paths)
    done = turn = 0
    while done < calls:
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            for _ in range(batch):
                started = time.perf_counter()
                await paths[name]()
                times[name].append(time.perf_counter() - started)
        done += batch
        turn += 1
    return {name: statistics.median(values) for name, values in times.items()}


Row = tuple[str, dict[str, float]]


async def stdio_case(
    label: str, server: StdioServerParameters, tool: str, arguments: dict[str, Any], toml: str, args: Any
) -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = write_config(work, toml)
        hub = StdioServerParameters(
            command=HUB[0], args=[*HUB[1:], "serve", "--config", str(config)], env=hub_env(work), cwd=str(ROOT)
        )
        bare = StdioServerParameters(
            command=sys.executable, args=[str(HERE / "bare_proxy.py"), "stdio", server.command, *server.args]
        )
        async with Client(server) as direct, Client(bare) as proxy, Client(hub) as through:
            name = f"{label.split()[0]}_{tool}"
            with anyio.fail_after(60):
                while name not in {t.name for t in (await through.list_tools()).tools}:  # noqa: ASYNC110 - polls the hub
                    await anyio.sleep(0.1)

            async def call_direct() -> Any:
                return await direct.call_tool(tool, arguments)

            async def call_proxy() -> Any:
                return await proxy.call_tool(tool, arguments)

            async def call_hub() -> Any:
                return await through.call_tool(name, arguments)

            paths = {"direct": call_direct, "bare proxy": call_proxy, "hub": call_hub}
            return f"stdio {label}", await timed_batches(paths, args.calls, args.batch)


async def http_case(args: Any) -> Row:
    port = free_port()
    upstream = spawn(
        [node(), str(EVERYTHING), "streamableHttp"], {"PATH": os.environ.get("PATH", ""), "PORT": str(port)}
    )
    hub_port = free_port()
    proxy_port = free_port()
    proxy = spawn(
        [sys.executable, str(HERE / "bare_proxy.py"), "http", f"http://127.0.0.1:{port}/mcp", str(proxy_port)]
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = write_config(
            work, f'[servers.everything]\nurl = "http://127.0.0.1:{port}/mcp"\nread_only = ["echo"]\n'
        )
        hub = spawn(
            [*HUB, "serve", "--config", str(config), "--transport", "http", "--port", str(hub_port)], hub_env(work)
        )
        try:
            wait_port(port)
            wait_port(hub_port)
            wait_port(proxy_port)
            async with (
                Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp")) as direct,
                Client(streamable_http_client(f"http://127.0.0.1:{proxy_port}/mcp")) as bare,
                Client(streamable_http_client(f"http://127.0.0.1:{hub_port}/mcp")) as through,
            ):
                with anyio.fail_after(60):
                    while "everything_echo" not in {t.name for t in (await through.list_tools()).tools}:  # noqa: ASYNC110
                        await anyio.sleep(0.1)

                async def call_direct() -> Any:
                    return await direct.call_tool("echo", {"message": "bench"})

                async def call_proxy() -> Any:
                    return await bare.call_tool("echo", {"message": "bench"})

                async def call_hub() -> Any:
                    return await through.call_tool("everything_echo", {"message": "bench"})

                paths = {"direct": call_direct, "bare proxy": call_proxy, "hub": call_hub}
                medians = await timed_batches(paths, args.calls, args.batch)
        finally:
            for proc in (hub, proxy, upstream):
                proc.terminate()
                proc.wait(10)
    return "http  everything echo", medians


INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
}


def startup_once(config: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*HUB, "serve", "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for message in (INIT, {"jsonrpc": "2.0", "method": "notifications/initialized"}):
            proc.stdin.write(json.dumps(message).encode() + b"\n")
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).encode() + b"\n")
        proc.stdin.flush()
        while True:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the hub exited")
            if json.loads(line).get("id") == 2:
                return time.perf_counter() - started
    finally:
        proc.stdin.close()  # end of input: the hub exits and stops its servers (a kill would orphan them)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def startup(runs: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = hub_env(work)
        plain = work / "plain.toml"
        plain.write_text("[hub]\nconnectors = []\n")
        stuck = work / "stuck.toml"
        stuck.write_text(
            "[hub]\nconnectors = []\n"
            f'[servers.stuck]\ncommand = "{sys.executable}"\nargs = ["-c", "import time; time.sleep(600)"]\n'
            "timeout_s = 60\n"
        )
        startup_once(plain, env)
        startup_once(stuck, env)
        times: dict[Path, list[float]] = {plain: [], stuck: []}
        for run in range(runs):
            for config in (plain, stuck) if run % 2 == 0 else (stuck, plain):
                times[config].append(startup_once(config, env))
    return statistics.median(times[plain]), statistics.median(times[stuck])


async def main(args: Any) -> None:
    everything = StdioServerParameters(command=node(), args=[str(EVERYTHING), "stdio"])
    time_server = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server_time"])
    everything_toml = (
        f"[servers.everything]\ncommand = {json.dumps(node())}\nargs = {json.dumps([str(EVERYTHING), 'stdio'])}\n"
        'read_only = ["echo"]\n'
    )
    time_toml = (
        f'[servers.time]\ncommand = {json.dumps(sys.executable)}\nargs = ["-m", "mcp_server_time"]\n'
        'read_only = ["get_current_time"]\n'
    )
    rows = [
        await stdio_case("everything echo", everything, "echo", {"message": "bench"}, everything_toml, args),
        await stdio_case(
            "time get_current_time", time_server, "get_current_time", {"timezone": "UTC"}, time_toml, args
        ),
    ]
    rows.append(await http_case(args))
    print(f"calls: {args.calls} per path, batches of {args.batch}, interleaved; python {sys.version.split()[0]}")
    print(f"{'case':30}{'direct':>9}{'bare proxy':>12}{'hub':>9}{'hub/direct':>12}{'hub/proxy':>11}  target")
    for label, m in rows:
        target = "1.10x" if label.startswith("http") else "1.15x"
        d, p, h = m["direct"], m["bare proxy"], m["hub"]
        print(
            f"{label:30}{d * 1000:>7.2f}ms{p * 1000:>10.2f}ms{h * 1000:>7.2f}ms{h / d:>11.2f}x{h / p:>10.2f}x  {target}"
        )
    plain, stuck = startup(args.startup_runs)
    print(
        f"start-up to tools/list (median of {args.startup_runs}): no server {plain * 1000:.0f} ms, "
        f"with a server that never answers {stuck * 1000:.0f} ms ({stuck / plain:.2f}x)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--startup-runs", type=int, default=7)
    anyio.run(main, parser.parse_args())
