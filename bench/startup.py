"""Start-up time and idle memory: `mcp-hub serve` (stdio, Postgres configured) against a bare MCPServer.

For each of --runs rounds, both servers are started (order alternating), sent
`initialize` and then `tools/list` over stdio as raw JSON-RPC lines; we record
the time from spawn to each reply and the process's RSS once it is idle.
Prints medians and the hub/bare ratios.

    python bench/startup.py [--runs 15] [--dsn postgresql://…] [--all-connectors]

`--all-connectors` also configures GitHub, GitLab, Slack and Drive with
placeholder credentials (nothing is contacted: clients open on first use), so
the hub serves its whole default catalog.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}


def _send(proc: subprocess.Popen[bytes], message: dict[str, object]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(message).encode() + b"\n")
    proc.stdin.flush()


def _read_reply(proc: subprocess.Popen[bytes], request_id: int) -> dict[str, object]:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server exited early (code {proc.poll()})")
        reply = json.loads(line)
        if reply.get("id") == request_id:
            return dict(reply)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float, int, int]:
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        _send(proc, INIT)
        _read_reply(proc, 1)
        initialized = time.perf_counter() - started
        _send(proc, INITIALIZED)
        _send(proc, LIST)
        listed_reply = _read_reply(proc, 2)
        listed = time.perf_counter() - started
        tools = len(listed_reply["result"]["tools"])  # type: ignore[index]
        time.sleep(0.2)  # idle
        rss = _rss_kib(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    return initialized, listed, rss, tools


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--dsn", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--all-connectors", action="store_true", help="configure every connector")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_")} | {"DATABASE_URL": args.dsn}
    if args.all_connectors:
        credentials = Path(tempfile.mkdtemp()) / "service-account.json"
        account = {
            "type": "service_account",
            "client_email": "bench@example.iam.gserviceaccount.com",
            "private_key": "placeholder (never read: the hub signs nothing until a Drive tool is called)",
            "private_key_id": "k",
            "client_id": "1",
            "token_uri": "http://127.0.0.1:9/token",
        }
        credentials.write_text(json.dumps(account))
        placeholders = {"GITHUB_TOKEN": "placeholder", "GITLAB_TOKEN": "placeholder", "SLACK_BOT_TOKEN": "placeholder"}
        env |= placeholders | {"GOOGLE_APPLICATION_CREDENTIALS": str(credentials)}
    hub_bin = Path(sys.executable).with_name("mcp-hub")
    commands = {
        "bare": [sys.executable, str(HERE / "bare_server.py")],
        "hub": [str(hub_bin), "serve"],
    }
    results: dict[str, list[tuple[float, float, int, int]]] = {"bare": [], "hub": []}
    for command in commands.values():  # warm the page cache and .pyc files once
        measure(command, env)
    for run in range(args.runs):
        order = ["bare", "hub"] if run % 2 == 0 else ["hub", "bare"]
        for name in order:
            results[name].append(measure(commands[name], env))

    def med(name: str, index: int) -> float:
        return statistics.median(r[index] for r in results[name])

    print(f"runs: {args.runs} each, interleaved; python {sys.version.split()[0]}")
    print(f"{'':6}{'initialize':>12}{'tools/list':>12}{'idle RSS':>12}{'tools':>7}")
    for name in ("bare", "hub"):
        print(
            f"{name:6}{med(name, 0) * 1000:>10.0f}ms{med(name, 1) * 1000:>10.0f}ms"
            f"{med(name, 2) / 1024:>9.1f}MiB{results[name][0][3]:>7}"
        )
    print(
        f"ratio hub/bare: initialize {med('hub', 0) / med('bare', 0):.2f}x,"
        f" tools/list {med('hub', 1) / med('bare', 1):.2f}x,"
        f" RSS {med('hub', 2) / med('bare', 2):.2f}x  (targets: start-up <= 1.15x, RSS <= 1.3x)"
    )


if __name__ == "__main__":
    main()
