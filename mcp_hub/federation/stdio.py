"""The stdio transport of a federated server: its stdout bounded as it arrives, its process tied to the hub's.

The SDK's `stdio_client` buffers each stdout line without limit, so a server printing one 2 GB line
took the hub's memory before `max_result_bytes` was ever checked. This transport reads stdout as
bytes and splits lines itself (`LineSplitter`): a line longer than `limits.message_cap` is not kept;
its first and last `limits.EDGE_BYTES` are, to find the JSON-RPC id of the request it answered, which
then fails at once with `limits.too_large_error` (the connection keeps serving later calls). A
dropped message that answers no pending request of ours (a notification, a server's own request)
is logged in one line, without its content.

On Linux the server is started through a tiny launcher (`LAUNCHER`) that asks the kernel to send it
SIGTERM when the hub dies (`PR_SET_PDEATHSIG`), then execs the command: a server that ignores its
stdin closing no longer outlives a hub killed with SIGKILL (the OOM killer). SIGTERM rather than
SIGKILL so that wrappers (`uvx`, `npx`) can pass it on to the server they run; the signal reaches the
launched process only, not its own children. Elsewhere the command starts directly.

Everything else is the SDK's: the environment, the spawn in its own process group, the shutdown
(close stdin, wait, then SIGTERM/SIGKILL the process tree), the parsing of a line.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TextIO

import anyio
import anyio.lowlevel
from mcp import StdioServerParameters
from mcp import types as mt
from mcp.client._transport import TransportStreams

# The SDK's private stdio helpers, imported here and nowhere else: uv.lock pins the SDK's version
# (mcp 2.3.0); check these names and signatures when upgrading it.
from mcp.client.stdio import (
    _aclose_all,
    _create_platform_compatible_process,
    _drain_stdout,
    _get_executable_command,
    _parse_line,
    _stop_server_process,
    get_default_environment,
)
from mcp.shared.message import SessionMessage

from mcp_hub.federation import limits

log = logging.getLogger(__name__)

#: How many bytes one read of stdout asks for (anyio's default); a line is held to its cap plus this.
READ_CHUNK = 65536
#: Pending request ids remembered at most (requests nobody answered or cancelled pile up otherwise).
MAX_PENDING = 4096
#: The SDK's writer flush window at shutdown (`mcp.client.stdio._WRITER_FLUSH_TIMEOUT`).
_WRITER_FLUSH_TIMEOUT = 0.5

#: Run as `python -I -S -c LAUNCHER HUB_PID COMMAND ARGS...` (adds ~15 ms to a start). prctl(1 =
#: PR_SET_PDEATHSIG, SIGTERM): the signal to get when the thread that started it (the hub's event
#: loop) ends. If the hub died before prctl ran, the parent is already someone else: exit. Python
#: ignores SIGPIPE and SIGXFSZ and exec keeps ignored signals ignored, so they are reset first, as
#: `subprocess` does (`restore_signals`). An exec failure exits 127/126 like a shell, one line on stderr.
LAUNCHER = """\
import ctypes, os, signal, sys
arg = ctypes.c_ulong
if ctypes.CDLL(None, use_errno=True).prctl(ctypes.c_int(1), arg(signal.SIGTERM), arg(0), arg(0), arg(0)) != 0:
    sys.stderr.write("mcp-hub launcher: prctl(PR_SET_PDEATHSIG) failed\\n")
if os.getppid() != int(sys.argv[1]):
    os._exit(1)
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
try:
    os.execvp(sys.argv[2], sys.argv[2:])
except OSError as exc:
    sys.stderr.write(f"mcp-hub launcher: cannot run {sys.argv[2]}: {exc.strerror}\\n")
    os._exit(127 if exc.errno == 2 else 126)
"""

# A request: "method" is a top-level key, first (TypeScript: {method, params, jsonrpc, id}) or right
# after jsonrpc and id (Python). A response in which a "method" key is nested further in is not one.
_REQUEST_HEAD = re.compile(limits.JSONRPC_HEAD + rb"(?:" + limits.ID + rb'\s*,\s*)?"method"\s*:')


@dataclass(frozen=True)
class Dropped:
    """A line that passed the cap: its edges (to find its id) and its length."""

    head: bytes
    tail: bytes
    size: int


class LineSplitter:
    """Newline-delimited messages from chunks of bytes, none held past `cap` (+ one chunk)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._line = bytearray()
        #: While a line over the cap is being discarded: its first bytes, last bytes, length so far.
        self._head: bytes | None = None
        self._tail = b""
        self._size = 0

    def feed(self, chunk: bytes) -> list[bytes | Dropped]:
        out: list[bytes | Dropped] = []
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            piece = chunk[start:] if newline < 0 else chunk[start:newline]
            if self._head is not None:
                self._size += len(piece)
                self._tail = (self._tail + piece[-limits.EDGE_BYTES :])[-limits.EDGE_BYTES :]
            else:
                self._line += piece
                if len(self._line) > self.cap:  # from here on, only its edges are kept
                    self._head = bytes(self._line[: limits.EDGE_BYTES])
                    self._tail = bytes(self._line[-limits.EDGE_BYTES :])
                    self._size = len(self._line)
                    self._line = bytearray()
            if newline < 0:
                return out
            if self._head is not None:
                out.append(Dropped(self._head, self._tail, self._size))
                self._head, self._tail, self._size = None, b"", 0
            elif self._line.strip():
                out.append(bytes(self._line))
                self._line = bytearray()
            else:
                self._line = bytearray()  # a blank line: nothing to parse
            start = newline + 1


def launch_command(command: str, args: list[str]) -> tuple[str, list[str]]:
    """What to start: the launcher around the command on Linux, the command itself elsewhere."""
    if not sys.platform.startswith("linux"):
        return command, args
    return sys.executable, ["-I", "-S", "-c", LAUNCHER, str(os.getpid()), command, *args]


def _check_command(command: str, env: dict[str, str], cwd: str | os.PathLike[str] | None) -> None:
    """The launcher always starts, so a missing command is found here, as the same FileNotFoundError
    a direct start raises (the hub reports it as "its command was not found")."""
    if os.sep in command:
        found = os.path.exists(os.path.join(cwd or ".", command))
    else:
        found = shutil.which(command, path=env.get("PATH", os.defpath)) is not None
    if not found:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), command)


def _is_request(head: bytes) -> bool:
    return _REQUEST_HEAD.match(head) is not None


@asynccontextmanager
async def federated_stdio(
    server: StdioServerParameters, name: str, max_result_bytes: int, errlog: TextIO = sys.stderr
) -> AsyncGenerator[TransportStreams, None]:
    """`mcp.client.stdio.stdio_client`, with each message bounded to `limits.message_cap(max_result_bytes)`
    and, on Linux, the server stopped when the hub dies."""
    cap = limits.message_cap(max_result_bytes)
    env = get_default_environment() | (server.env or {})
    command = await _get_executable_command(server.command)
    if sys.platform.startswith("linux"):
        _check_command(command, env, server.cwd)
    program, args = launch_command(command, server.args)
    process = await _create_platform_compatible_process(
        command=program, args=args, env=env, errlog=errlog, cwd=server.cwd
    )

    # The spawn succeeded; no awaits until the task group is entered (the SDK's rule: a cancellation
    # in the gap would leak the live process).
    read_stream_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_stream_reader = anyio.create_memory_object_stream[SessionMessage](0)
    #: Ids of our requests not answered yet: only these can be failed in place of a dropped answer.
    pending: dict[mt.RequestId, None] = {}
    shutting_down = False
    writer_done = anyio.Event()

    def stand_in(dropped: Dropped) -> SessionMessage | None:
        request_id = limits.message_id(dropped.head, dropped.tail)
        if request_id is not None and request_id in pending and not _is_request(dropped.head):
            del pending[request_id]
            log.warning(
                "federated server %s: an answer of %d+ bytes passed its cap of %d and was dropped; its request fails",
                name,
                dropped.size,
                cap,
            )
            return SessionMessage(limits.too_large_error(request_id, name, cap))
        log.warning(
            "federated server %s: a message of %d+ bytes passed its cap of %d and was dropped (no pending request)",
            name,
            dropped.size,
            cap,
        )
        return None

    def received(line: bytes) -> SessionMessage | Exception:
        try:
            text = line.decode(server.encoding, server.encoding_error_handler)
        except UnicodeDecodeError as exc:
            log.warning("federated server %s: a line that is not %s was dropped", name, server.encoding)
            return exc
        parsed = _parse_line(text)
        if isinstance(parsed, SessionMessage) and isinstance(parsed.message, (mt.JSONRPCResponse, mt.JSONRPCError)):
            pending.pop(parsed.message.id, None)  # type: ignore[arg-type]  # an error's id may be None: not there
        return parsed

    async def stdout_reader() -> None:
        assert process.stdout, "Opened process is missing stdout"
        splitter = LineSplitter(cap)
        try:
            async with read_stream_writer:
                try:
                    while True:
                        try:
                            chunk = await process.stdout.receive(READ_CHUNK)
                        except anyio.EndOfStream:
                            return
                        for item in splitter.feed(chunk):
                            message = stand_in(item) if isinstance(item, Dropped) else received(item)
                            if message is None:
                                continue
                            try:
                                await read_stream_writer.send(message)
                            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                                return  # the session is gone; only the drain below remains
                finally:
                    await _drain_stdout(process)
        except anyio.ClosedResourceError:
            pass  # our own shutdown closed the stdout stream under the read
        except (anyio.BrokenResourceError, ConnectionError):
            if not shutting_down:
                log.exception("federated server %s: reading its stdout failed mid-session", name)

    async def stdin_writer() -> None:
        assert process.stdin, "Opened process is missing stdin"
        try:
            async with write_stream_reader:
                async for session_message in write_stream_reader:
                    message = session_message.message
                    if isinstance(message, mt.JSONRPCRequest):
                        pending[message.id] = None
                        if len(pending) > MAX_PENDING:
                            del pending[next(iter(pending))]
                    elif isinstance(message, mt.JSONRPCNotification) and message.method == "notifications/cancelled":
                        pending.pop((message.params or {}).get("requestId", ""), None)
                    json = message.model_dump_json(by_alias=True, exclude_unset=True)
                    data = (json + "\n").encode(encoding=server.encoding, errors=server.encoding_error_handler)
                    await process.stdin.send(data)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            # The server may still be alive: close the read stream so the session sees the end.
            await read_stream_writer.aclose()
        finally:
            writer_done.set()

    async def shutdown() -> None:
        """The SDK's: stop traffic, flush, stop the server (close stdin, wait, kill the tree), release."""
        read_stream.close()
        write_stream.close()
        with anyio.move_on_after(_WRITER_FLUSH_TIMEOUT):
            await writer_done.wait()
        await _stop_server_process(process)
        await _aclose_all(read_stream, write_stream, read_stream_writer, write_stream_reader)
        await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(stdout_reader)
        tg.start_soon(stdin_writer)
        try:
            yield read_stream, write_stream
        finally:
            shutting_down = True
            with anyio.CancelScope(shield=True):  # every wait inside is bounded
                await shutdown()
            tg.cancel_scope.cancel()
    await anyio.lowlevel.cancel_shielded_checkpoint()
