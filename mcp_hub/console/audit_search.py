"""Search the audit log (`mcp_hub.audit`: one JSON object a line) for the console and its exports.

Filters: caller and tool (glob, e.g. `github_*`), connector (the tool's namespace: the longest known
connector or federated-server name followed by `_`; the console's own actions are `console`),
outcome (exact), and time (`since` / `until`, ISO 8601 prefixes compared as text: the log's times are
UTC `YYYY-MM-DDTHH:MM:SS.mmmZ`). Newest first. The file is read in a worker thread; a line that is not
JSON is skipped (a torn last line after a crash). Arguments were redacted when written; they are
redacted again with the hub's current secrets before they are shown or exported.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from mcp_hub.redaction import Redactor

FIELDS = ("time", "caller", "transport", "tool", "connector", "outcome", "duration_ms", "arguments", "approval")


@dataclass(frozen=True, slots=True)
class AuditQuery:
    caller: str = ""
    tool: str = ""
    connector: str = ""
    outcome: str = ""
    since: str = ""
    until: str = ""

    @classmethod
    def from_params(cls, params: Any) -> AuditQuery:
        return cls(**{name: str(params.get(name, "") or "").strip()[:200] for name in cls.__slots__})

    def params(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.__slots__ if getattr(self, name)}


def connector_of(tool: str, namespaces: Iterable[str]) -> str:
    if tool.startswith("console."):
        return "console"
    best = ""
    for name in namespaces:
        if tool.startswith(name + "_") and len(name) > len(best):
            best = name
    return best or "hub"


def _matches(entry: dict[str, Any], query: AuditQuery) -> bool:
    if query.caller and not fnmatchcase(str(entry.get("caller", "")), query.caller):
        return False
    if query.tool and not fnmatchcase(str(entry.get("tool", "")), query.tool):
        return False
    if query.connector and entry["connector"] != query.connector:
        return False
    if query.outcome and str(entry.get("outcome", "")) != query.outcome:
        return False
    when = str(entry.get("time", ""))
    if query.since and when < query.since:
        return False
    return not (query.until and when[: len(query.until)] > query.until)


def _entries(path: Path | None, namespaces: Iterable[str], redactor: Redactor) -> list[dict[str, Any]]:
    if path is None or not path.exists():
        return []
    names = list(namespaces)
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            if "tool" not in entry and "event" in entry:  # a line that is not a tool call (`record_event`)
                extra = {k: v for k, v in entry.items() if k not in ("time", "event")}
                entry = {
                    "time": entry.get("time", ""),
                    "tool": f"event.{entry['event']}",
                    "caller": "hub",
                    "transport": "",
                    "outcome": "event",
                    "arguments": extra,
                    "server": entry.get("server"),
                }
            entry["connector"] = entry.pop("server", None) or connector_of(str(entry.get("tool", "")), names)
            entry["arguments"] = redactor.redact_value(entry.get("arguments", {}))
            rows.append(entry)
    rows.reverse()
    return rows


def search(
    path: Path | None, query: AuditQuery, namespaces: Iterable[str], redactor: Redactor, *, page: int, per_page: int
) -> tuple[list[dict[str, Any]], bool]:
    """One page of matching entries (newest first) and whether there are more."""
    found = [e for e in _entries(path, namespaces, redactor) if _matches(e, query)]
    start = max(page, 0) * per_page
    return found[start : start + per_page], len(found) > start + per_page


def export(
    path: Path | None, query: AuditQuery, namespaces: Iterable[str], redactor: Redactor, kind: str
) -> Iterator[str]:
    """Every matching entry as CSV (arguments as compact JSON in one column) or JSON lines."""
    found = (e for e in _entries(path, namespaces, redactor) if _matches(e, query))
    if kind == "jsonl":
        for entry in found:
            yield json.dumps({k: entry.get(k) for k in FIELDS}, ensure_ascii=False, separators=(",", ":")) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    for entry in found:
        row = [entry.get(k, "") for k in FIELDS]
        row[-2] = json.dumps(entry.get("arguments", {}), ensure_ascii=False, separators=(",", ":"))
        row[-1] = (
            json.dumps(entry["approval"], ensure_ascii=False, separators=(",", ":")) if "approval" in entry else ""
        )
        # A cell a spreadsheet would run as a formula (=, +, -, @) is prefixed with a quote.
        writer.writerow([f"'{c}" if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c for c in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()
    else:
        yield ""
