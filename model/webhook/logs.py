"""Structured logs: one JSON object per line, every string through the hub's redactor."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from mcp_hub.redaction import Redactor


class JsonLog:
    def __init__(self, redactor: Redactor | None = None, stream: TextIO | None = None) -> None:
        self.redactor = redactor or Redactor()
        self.stream = stream

    def __call__(self, event: str, level: str = "info", **fields: Any) -> None:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": level, "event": event, **fields}
        line = json.dumps(self.redactor.redact_value(entry), ensure_ascii=False, default=str)
        stream = self.stream or sys.stderr
        stream.write(line + "\n")
        stream.flush()
