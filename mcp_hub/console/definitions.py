"""Federated definition changes for the console: what `mcp-hub servers diff` shows, one approval at a time.

The gate (`mcp_hub.federation.pins.PinnedGate`) reads the lock file on every listing, so an entry
written here is served by every hub process that shares the file on its next listing. An approval
names the exact definition the person saw (its sha256): when the server listed something else since,
nothing is written (`Stale`), and the page shows the new version to review. Flagged findings are
approved only when the person ticks the box for them, as `servers pin --approve-flagged` does.
"""

from __future__ import annotations

from typing import Any

from mcp_hub.federation.lockfile import KINDS, Servers, config_dir, lock_file, seen_file
from mcp_hub.federation.pins import compare, from_seen
from mcp_hub.federation.poison import printable


class Stale(Exception):
    """The definition changed (or was approved) since the page was rendered."""


def _directory(config: Any) -> Any:
    return config_dir(getattr(config, "path", None))


def pending(config: Any) -> list[dict[str, Any]]:
    """Every definition that is not served as pinned: new, changed, unpinned, flagged or removed."""
    directory = _directory(config)
    pinned, observed = lock_file(directory).read(), seen_file(directory).read()
    rows = []
    for server in sorted(set(pinned) | set(observed)):
        for kind in KINDS:
            current = from_seen(observed.get(server, {}).get(kind, {}))
            entries = pinned[server].get(kind, {}) if server in pinned else None
            if entries is None and not current:
                continue
            for verdict in compare(server, entries, current):
                if verdict.state == "ok":
                    continue
                rows.append(
                    {
                        "server": server,
                        "kind": kind,
                        "name": verdict.name,
                        "shown_name": printable(verdict.name),
                        "state": verdict.state,
                        "reason": verdict.reason,
                        "fields": verdict.fields if verdict.state == "changed" else [],
                        "diff": verdict.diff(),
                        "findings": [str(f) for f in verdict.current.findings] if verdict.current else [],
                        "sha256": verdict.current.sha256 if verdict.current else "removed",
                    }
                )
    return rows


def approve(config: Any, server: str, kind: str, name: str, sha256: str, approve_flagged: bool) -> None:
    """Pin the definition the person saw (or drop a removed one), nothing else."""
    if kind not in KINDS:
        raise Stale(f"unknown kind {kind!r}")
    directory = _directory(config)
    observed = from_seen(seen_file(directory).read().get(server, {}).get(kind, {}))
    current = observed.get(name)
    if (current.sha256 if current is not None else "removed") != sha256:
        raise Stale(f"{server}: {printable(name)} changed since this page was shown: review it again")

    def write(data: Servers) -> None:
        entries = data.setdefault(server, {}).setdefault(kind, {})
        if current is None:
            entries.pop(name, None)
            return
        old = entries.get(name)
        entry = current.entry(approve=approve_flagged)
        if not approve_flagged and old is not None and old.get("sha256") == current.sha256:
            entry["approved_findings"] = old.get("approved_findings", [])
        entries[name] = entry

    lock_file(directory).update(write)
