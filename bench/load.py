"""Load: N concurrent Streamable HTTP clients calling `postgres_query` for T seconds, one then two hubs.

Starts real `mcp-hub serve --transport http` processes on 127.0.0.1 (the
Postgres connector on a scratch database with 10,000 rows), then runs N
`mcp.Client("http://…/mcp")` clients for T seconds each round: first all
against one hub, then spread over two (client i talks to hub i mod 2). With
`--state-url redis://…` the hubs share state as replicas would. Reports
throughput, p50/p99 latency, errors (must be zero: the exit code is 1
otherwise) and each hub's RSS before and after.

On a two-core machine the client loop, the hubs and PostgreSQL share the same
cores: the two-hub round shows correctness under load (no errors, bounded
memory), not scaling.

    python bench/load.py [--clients 16] [--seconds 10] [--dsn "host=127.0.0.1 user=postgres dbname=postgres"]
                         [--state-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from roundtrip import READER, scratch_database  # the same scratch database (people, 10,000 rows), its reader

HUB = str(Path(sys.executable).with_name("mcp-hub"))
POINT = "SELECT id, name, email FROM people WHERE id = $1"


@dataclass
class Round:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def hub(dsn: str, state_url: str | None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_")} | {
        "DATABASE_URL": dsn,
        "MCP_HUB_CONNECTORS": "postgres",
        "MCP_HUB_LOG_LEVEL": "WARNING",
    }
    env |= READER
    if state_url:
        env |= {"MCP_HUB_STATE_URL": state_url, "MCP_HUB_STATE_PREFIX": f"mcp-hub-bench-{secrets.token_hex(4)}:"}
    proc = subprocess.Popen([HUB, "serve", "--transport", "http", "--port", str(port)], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("a hub did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", proc
    finally:
        proc.terminate()
        proc.wait(10)


async def client_loop(url: str, seed: int, until: float, result: Round) -> None:
    try:
        async with Client(url) as client:
            n = seed
            while time.perf_counter() < until:
                n = n * 7919 % 10000 + 1
                started = time.perf_counter()
                try:
                    reply = await client.call_tool("postgres_query", {"sql": POINT, "params": [n]})
                except Exception as exc:
                    result.errors.append(type(exc).__name__)
                    continue
                result.latencies.append(time.perf_counter() - started)
                if reply.is_error or reply.structured_content is None or reply.structured_content["rows"][0][0] != n:
                    result.errors.append("wrong or error result")
    except Exception as exc:
        result.errors.append(f"session: {type(exc).__name__}")


async def run_round(urls: list[str], clients: int, seconds: float) -> tuple[Round, float]:
    result = Round()
    async with anyio.create_task_group() as warm:  # one call per hub first: lazy pools open outside the timing
        for url in urls:
            warm.start_soon(client_loop, url, 1, time.perf_counter() + 0.01, Round())
    started = time.perf_counter()
    until = started + seconds
    async with anyio.create_task_group() as group:
        for i in range(clients):
            group.start_soon(client_loop, urls[i % len(urls)], i + 1, until, result)
    return result, time.perf_counter() - started


def report(label: str, procs: list[subprocess.Popen[bytes]], before: list[float], result: Round, wall: float) -> None:
    lat = sorted(result.latencies)
    p50 = statistics.median(lat) * 1000 if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
    after = [rss_mib(p.pid) for p in procs]
    rss = ", ".join(f"{b:.0f}->{a:.0f}" for b, a in zip(before, after, strict=True))
    print(
        f"{label:<8} {len(lat):>7} calls  {len(lat) / wall:>8.1f} calls/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
        f"errors {len(result.errors)}  RSS MiB {rss}"
    )
    if result.errors:
        print(f"         first errors: {result.errors[:5]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--dsn", default="host=127.0.0.1 port=5432 user=postgres dbname=postgres")
    parser.add_argument("--state-url", help="shared state for the hubs, e.g. redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    print(f"bench/load.py: {args.clients} clients x {args.seconds:g} s of postgres_query over Streamable HTTP")
    print(f"machine: {os.cpu_count()} cores; shared state: {'redis' if args.state_url else 'in-process'}")
    errors = 0
    with scratch_database(args.dsn) as dsn:
        for replicas in (1, 2):
            with ExitStack() as stack:
                hubs = [stack.enter_context(hub(dsn, args.state_url)) for _ in range(replicas)]
                procs = [p for _, p in hubs]
                before = [rss_mib(p.pid) for p in procs]
                result, wall = anyio.run(run_round, [u for u, _ in hubs], args.clients, args.seconds)
                report(f"{replicas} hub{'s' if replicas > 1 else ''}", procs, before, result, wall)
                errors += len(result.errors)
    print(
        "note: clients, hubs and PostgreSQL share this machine's cores; with 2 cores the two-hub round proves "
        "correctness under load (zero errors, bounded RSS), not scaling."
    )
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
