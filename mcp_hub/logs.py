"""Logs of every long-running command, one way: `--log-format text|json` on stderr, through the redactor.

- JSON lines have the webhook service's keys: `time` (UTC, seconds), `level` (lower case), `event` (the
  message or the event's name), the event's own fields, and `logger` for records from `logging`.
- One handler on the root logger, behind a `RedactingFilter`; the JSON formatter redacts every field again
  (an event's fields and a traceback are not part of the rendered message the filter sees).
- Third-party loggers that speak once per request or per plug-in (HTTP clients, MCP session managers,
  uvicorn's access log, stevedore's "Could not load 'sarif'") are held at WARNING, or have that one line
  dropped, unless `--log-level DEBUG` asks for everything.
- Progress (`progress()`) is part of the output, not a diagnostic: shown at any level, as plain lines
  (JSON events with `--log-format json`); only a terminal gets the one-line bar that redraws itself.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

from mcp_hub.redaction import RedactingFilter, Redactor

FORMATS = ("text", "json")
#: Loggers for things the user watches as they happen: never held back by the level.
EVENTS = "mcp_hub.events"
PROGRESS = "mcp_hub.progress"

#: Per-request or per-session lines from libraries: quiet unless DEBUG is asked for.
NOISY = (
    "httpx",
    "httpx2",
    "httpcore",
    "urllib3",
    "googleapiclient.discovery",
    "googleapiclient.discovery_cache",
    "github",
    "gitlab",
    "slack_sdk",
    "aiohttp.access",
    "uvicorn.access",
    "mcp.server.streamable_http_manager",
    "mcp.client.streamable_http",
    "bandit",
)
#: bandit asks stevedore for every formatter it ships; SARIF's needs a package we do not use.
_UNUSED_PLUGINS = ("Could not load 'sarif'",)

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def add_log_arguments(parser: argparse.ArgumentParser, *, level: str = "WARNING", fmt: str = "text") -> None:
    """`--log-format` and `--log-level` for a long-running command (the same spelling everywhere), with the
    command's defaults (the CLI installs the handler before the command runs: `configure`)."""
    parser.add_argument(
        "--log-format",
        choices=FORMATS,
        help=f"text or json (one JSON object per line, the webhook's keys); default $MCP_HUB_LOG_FORMAT, else {fmt}",
    )
    parser.add_argument("--log-level", help=f"DEBUG, INFO, WARNING, ERROR (default: {level})")
    parser.set_defaults(log_defaults=(level, fmt))


def configure(
    args: argparse.Namespace, level: str | None = None, fmt: str | None = None, redactor: Redactor | None = None
) -> Redactor:
    """The handler for a parsed command line: its flags, else $MCP_HUB_LOG_FORMAT, else the command's defaults
    (`level`/`fmt` override the command's defaults, e.g. `serve`'s hub.log_level and hub.log_format)."""
    default_level, default_format = getattr(args, "log_defaults", ("WARNING", "text"))
    default_format = fmt or default_format
    chosen = (getattr(args, "log_level", None) or level or default_level).upper()
    if chosen not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        from mcp_hub.errors import ConfigError

        raise ConfigError(f"log level {chosen!r}: choose DEBUG, INFO, WARNING or ERROR")
    return setup_logging(chosen, chosen_format(args, default_format), redactor)


def chosen_format(args: argparse.Namespace, default: str = "text") -> str:
    chosen = getattr(args, "log_format", None) or os.environ.get("MCP_HUB_LOG_FORMAT") or default
    chosen = chosen.strip().lower()
    if chosen not in FORMATS:
        from mcp_hub.errors import ConfigError

        raise ConfigError(f"MCP_HUB_LOG_FORMAT={chosen!r}: choose text or json")
    return chosen


def _when(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))


def json_line(entry: dict[str, Any], redactor: Redactor) -> str:
    return json.dumps(redactor.redact_value(entry), ensure_ascii=False, default=str)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields an event was given (`extra={"fields": {...}}`); other libraries' extras stay out."""
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, dict) else {}


class JsonFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _when(record.created),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        # an event's fields never replace the keys every line has (a field called "level" stays a field's)
        entry.update({k: v for k, v in _fields(record).items() if k not in entry})
        if record.name not in (EVENTS, PROGRESS):
            entry["logger"] = record.name
        if record.exc_info and record.exc_info[1] is not None:
            entry["error"] = self.formatException(record.exc_info)
        return json_line(entry, self.redactor)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value …`; progress lines as they are."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        if record.name == PROGRESS:
            return record.getMessage()
        line = super().format(record)
        fields = _fields(record)
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return self.redactor.redact(line)


class _DropUnusedPlugins(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_UNUSED_PLUGINS)


def setup_logging(
    level: str, fmt: str = "text", redactor: Redactor | None = None, stream: TextIO | None = None
) -> Redactor:
    """Install the one stderr handler; returns the redactor it uses (add a command's secrets to it)."""
    redactor = redactor or Redactor()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redactor) if fmt == "json" else TextFormatter(redactor))
    handler.addFilter(RedactingFilter(redactor))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    debug = root.level <= logging.DEBUG
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)
    stevedore = logging.getLogger("stevedore.extension")
    stevedore.filters[:] = [] if debug else [_DropUnusedPlugins()]
    for name in (EVENTS, PROGRESS):
        logging.getLogger(name).setLevel(min(root.level, logging.INFO))
    _state.update(format=fmt, redactor=redactor)
    return redactor


#: What `setup_logging` installed: the format, and the redactor a command adds its secrets to.
_state: dict[str, Any] = {"format": "text", "redactor": None}


def protect(secrets: Iterable[str]) -> None:
    """Mask these values in every log line from now on (a command's own secrets: webhook secrets, DSNs)."""
    redactor = _state["redactor"]
    if redactor is not None:
        redactor.add([s for s in secrets if s])


class EventLog:
    """Structured events (`log("job_started", key=…)`): records of the `mcp_hub.events` logger with their
    fields, so `--log-format` renders them, or JSON lines written straight to `stream` (tests)."""

    def __init__(self, redactor: Redactor | None = None, stream: TextIO | None = None) -> None:
        self.redactor = redactor or Redactor()
        self.stream = stream

    def __call__(self, event: str, level: str = "info", **fields: Any) -> None:
        if self.stream is not None:
            entry = {"time": _when(time.time()), "level": level, "event": event, **fields}
            self.stream.write(json_line(entry, self.redactor) + "\n")
            self.stream.flush()
            return
        safe = self.redactor.redact_value(fields)
        logging.getLogger(EVENTS).log(_LEVELS.get(level, logging.INFO), event, extra={"fields": safe})


def current_format() -> str:
    """`text` or `json`: what `setup_logging` installed (`text` before it)."""
    return str(_state["format"])


def progress(message: str, **fields: Any) -> None:
    """One line of progress on stderr, in the chosen log format (never a terminal control code).

    Before `setup_logging` (a library caller, a test driving a command's function), a plain line."""
    if _state["redactor"] is None:
        print(message, file=sys.stderr, flush=True)
        return
    logging.getLogger(PROGRESS).info(message, extra={"fields": fields})


def is_terminal(stream: TextIO) -> bool:
    """A terminal that can redraw a line: a TTY, with `--log-format text`, and not TERM=dumb."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and _state["format"] == "text" and os.environ.get("TERM") != "dumb"
