"""The federated stdio transport: an answer over the cap is dropped as it arrives (the hub's memory stays
bounded, the call fails at once, the connection keeps serving), and a server does not outlive a killed hub."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from mcp_hub.federation import limits
from mcp_hub.federation.stdio import Dropped, LineSplitter, launch_command
from tests.federation.conftest import PY, ROOT, HubFactory, toml_value

pytestmark = pytest.mark.anyio

LINE_BYTES = 20 * 1024 * 1024
CAP_BYTES = 64 * 1024


def huge_stdio(name: str = "huge", env: dict[str, str] | None = None, **extra: Any) -> str:
    lines = [
        f"[servers.{name}]",
        f"command = {toml_value(PY)}",
        f"args = {toml_value(['-m', 'tests.support.huge_server'])}",
        f"cwd = {toml_value(str(ROOT))}",
        'read_only = ["*"]',
    ]
    if env:
        lines.append(f"env = {toml_value(env)}")
    lines += [f"{k} = {toml_value(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def text(result: Any) -> str:
    return str(result.content[0].text)


# -- the line splitter -----------------------------------------------------------------------------


def test_lines_split_across_chunks_and_blank_lines_skipped() -> None:
    splitter = LineSplitter(100)
    assert splitter.feed(b'{"a":') == []
    assert splitter.feed(b'1}\n\n  \n{"b":2}\n{"c"') == [b'{"a":1}', b'{"b":2}']
    assert splitter.feed(b":3}\n") == [b'{"c":3}']


@pytest.mark.parametrize("chunk", [1, 7, 1000, 10**6])
def test_a_line_over_the_cap_keeps_only_its_edges(chunk: int) -> None:
    edge = limits.EDGE_BYTES
    line = b'{"jsonrpc":"2.0","id":7,"result":"' + b"a" * edge + b"m" * 5000 + b"z" * edge + b'"}'
    stream = b'{"small":1}\n' + line + b'\n{"after":2}\n'
    splitter = LineSplitter(1000)
    out: list[bytes | Dropped] = []
    for start in range(0, len(stream), chunk):
        out += splitter.feed(stream[start : start + chunk])
    assert out[0] == b'{"small":1}' and out[2] == b'{"after":2}' and len(out) == 3
    dropped = out[1]
    assert isinstance(dropped, Dropped)
    assert dropped.size == len(line) and dropped.head == line[:edge] and dropped.tail == line[-edge:]
    assert limits.message_id(dropped.head, dropped.tail) == 7
    assert len(splitter._line) == 0  # nothing of it held


def test_a_line_at_the_cap_passes() -> None:
    assert LineSplitter(5).feed(b"12345\n123456\n")[0] == b"12345"


# -- through the hub ------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["python", "ts"])
async def test_an_answer_over_the_cap_fails_its_call_at_once_and_the_server_keeps_serving(
    make_hub: HubFactory, order: str
) -> None:
    hub = make_hub(huge_stdio(max_result_bytes=CAP_BYTES, timeout_s=60))
    async with Client(hub) as client:
        await hub.federation.wait_listed(30)  # type: ignore[union-attr]
        started = time.monotonic()
        large = await client.call_tool("huge_huge", {"size": LINE_BYTES, "order": order})
        elapsed = time.monotonic() - started
        after = await client.call_tool("huge_ok", {})
        small = await client.call_tool("huge_huge", {"size": 1000, "order": order})
        noisy = await client.call_tool("huge_notify", {"size": 2 * CAP_BYTES})  # a notification dropped
    assert large.is_error and "servers.huge.max_result_bytes" in text(large), text(large)
    assert "dropped as it arrived" in text(large) and (large.meta or {}).get("mcp_hub/error") == "too_large"
    assert elapsed < 20, elapsed  # not the 60 s timeout
    assert not after.is_error and "ok" in text(after)
    assert not small.is_error and "x" * 1000 in text(small)
    assert not noisy.is_error and "ok" in text(noisy)
    row = next(r for r in hub.federation.status() if r["server"] == "huge")  # type: ignore[union-attr]
    assert row["restarts"] == 0


async def test_a_missing_command_is_reported_as_such(make_hub: HubFactory) -> None:
    hub = make_hub('[servers.gone]\ncommand = "no-such-command-mcp-hub-test"\n')
    async with Client(hub):
        with anyio.fail_after(30):
            while not (row := hub.federation.status()[0])["detail"]:  # type: ignore[union-attr]
                await anyio.sleep(0.05)
    assert row["detail"] == "its command was not found"


# -- a real `mcp-hub serve` in a subprocess -------------------------------------------------------


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def hub_params(tmp_path: Path, toml: str) -> StdioServerParameters:
    config = tmp_path / "hub.toml"
    config.write_text("[hub]\nconnectors = []\n" + toml)
    return StdioServerParameters(
        command=sys.executable,
        args=["-c", "from mcp_hub.cli import main; raise SystemExit(main())", "serve", "--config", str(config)],
        env={"XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)},
        cwd=str(ROOT),
    )


async def wait_for_pids(pid_file: Path) -> tuple[int, int]:
    with anyio.fail_after(30):
        while not pid_file.exists() or not pid_file.read_text().endswith("\n"):
            await anyio.sleep(0.05)
    server, hub = map(int, pid_file.read_text().split())
    return server, hub


@contextmanager
def reaped(pid_file: Path) -> Iterator[None]:
    """However the test ends, the lingering server does not outlive it."""
    try:
        yield
    finally:
        if pid_file.exists():
            server = int(pid_file.read_text().split()[0])
            if alive(server):
                os.kill(server, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
async def test_the_hubs_memory_stays_bounded_while_an_answer_over_the_cap_arrives(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    toml = huge_stdio(env={"HUGE_TEST_PID": str(pid_file)}, max_result_bytes=CAP_BYTES, timeout_s=60, pin="tofu")
    with reaped(pid_file):
        async with Client(hub_params(tmp_path, toml)) as client:
            _, hub = await wait_for_pids(pid_file)
            with anyio.fail_after(30):
                while "huge_huge" not in {t.name for t in (await client.list_tools()).tools}:
                    await anyio.sleep(0.1)
            assert not (await client.call_tool("huge_huge", {"size": 1000})).is_error  # warm: the path is loaded
            baseline = status_kib(hub, "VmHWM")
            large = await client.call_tool("huge_huge", {"size": LINE_BYTES})
            peak = status_kib(hub, "VmHWM")
            after = await client.call_tool("huge_ok", {})
    assert large.is_error and "servers.huge.max_result_bytes" in text(large), text(large)
    assert not after.is_error
    grown_mib = (peak - baseline) / 1024
    assert grown_mib < 10, f"the hub's peak RSS grew {grown_mib:.1f} MiB for a {LINE_BYTES >> 20} MiB line"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
async def test_a_server_that_ignores_stdin_closing_does_not_outlive_a_killed_hub(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    toml = huge_stdio(env={"HUGE_TEST_PID": str(pid_file), "HUGE_TEST_LINGER": "1"}, pin="tofu")
    with reaped(pid_file):
        async with Client(hub_params(tmp_path, toml)):
            server, hub = await wait_for_pids(pid_file)
            assert alive(server)
            os.kill(hub, signal.SIGKILL)
            deadline = time.monotonic() + 2.5
            while alive(server) and time.monotonic() < deadline:
                await anyio.sleep(0.05)
            assert not alive(server), "the federated server outlived the hub killed with SIGKILL"


# -- the launcher ---------------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the launcher is Linux's")
def test_the_launcher_execs_the_command_with_default_signals() -> None:
    program, args = launch_command("sh", ["-c", 'echo "$$ $PPID"; grep -E "^SigIgn" /proc/self/status'])
    out = subprocess.run([program, *args], capture_output=True, text=True, check=True, timeout=10).stdout.split()
    assert int(out[1]) == os.getpid()  # exec'd in place: the command's parent is the hub, not a wrapper
    ignored = int(out[3], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1)) and not ignored & (1 << (signal.SIGXFSZ - 1))  # as by default
    program, args = launch_command("no-such-command-mcp-hub-test", [])
    missing = subprocess.run([program, *args], capture_output=True, timeout=10)
    assert missing.returncode == 127 and b"cannot run no-such-command-mcp-hub-test" in missing.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the launcher is Linux's")
def test_the_launcher_does_not_start_the_command_when_the_hub_died_before_it_asked_for_the_signal(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "ran"
    program, args = launch_command("touch", [str(marker)])
    args[args.index(str(os.getpid()))] = "1"  # as if reparented: the parent it was given is not its parent
    assert subprocess.run([program, *args], timeout=10).returncode == 1
    assert not marker.exists()


def test_a_servers_own_request_is_not_taken_for_an_answer() -> None:
    from mcp_hub.federation.stdio import _is_request

    assert _is_request(b'{"jsonrpc":"2.0","id":5,"method":"sampling/createMessage","params":{')
    assert _is_request(b'{"method":"elicitation/create","params":{"message":"')
    assert not _is_request(b'{"jsonrpc":"2.0","id":5,"result":{"structuredContent":{"method":"x"')
    assert not _is_request(b'{"result":{"content":[{"type":"text","text":"\\"method\\":')
