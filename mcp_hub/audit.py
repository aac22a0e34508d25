"""Append-only audit log: one JSON line per tool call.

Lines are written and flushed on each call (so a crash loses nothing that was
reported to a client) but not fsynced: the log must not cost a disk round trip
per call. Arguments are redacted before they are written.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import IO, Any

from mcp_hub.redaction import Redactor

MAX_ARGUMENT_CHARS = 2000


class AuditLog:
    def __init__(self, path: Path | None, redactor: Redactor) -> None:
        self._path = path
        self._redactor = redactor
        self._handle: IO[str] | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._path is not None

    def record(
        self,
        *,
        transport: str,
        caller: str,
        tool: str,
        arguments: dict[str, Any],
        outcome: str,
        duration_ms: float,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """`extra` adds keys beside the standard ones (an approval's id and decision); it never
        replaces them and is redacted like the arguments."""
        if self._path is None:
            return
        now = time.time()
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
            "transport": transport,
            "caller": caller,
            "tool": tool,
            "arguments": self._redactor.redact_value(_clip(arguments)),
            "outcome": outcome,
            "duration_ms": round(duration_ms, 2),
        }
        for key, value in (extra or {}).items():
            entry.setdefault(key, self._redactor.redact_value(value))
        self._write(entry)

    def record_event(self, event: str, **fields: Any) -> None:
        """A line that is not a tool call (e.g. `definitions`: a federated server's tools changed), redacted."""
        if self._path is None:
            return
        now = time.time()
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
            "event": event,
            **{k: self._redactor.redact_value(v) for k, v in fields.items()},
        }
        self._write(entry)

    def _write(self, entry: dict[str, Any]) -> None:
        assert self._path is not None
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            if self._handle is None:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = self._path.open("a", encoding="utf-8")
            self._handle.write(line)
            self._handle.flush()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


def _clip(arguments: dict[str, Any]) -> dict[str, Any]:
    clipped: dict[str, Any] = {}
    for key, value in arguments.items():
        if isinstance(value, str) and len(value) > MAX_ARGUMENT_CHARS:
            clipped[key] = value[:MAX_ARGUMENT_CHARS] + f"…[{len(value) - MAX_ARGUMENT_CHARS} more chars]"
        else:
            clipped[key] = value
    return clipped
