"""`PinnedGate`: a federated server's definitions reach clients only as a person approved them.

Each listing is reduced to canonical definitions (`canonical`), scanned (`poison`)
and compared with the lock file (`lockfile`):

- a server that was never pinned: withheld, unless configured `pin = "tofu"`, in
  which case its definitions are recorded on first sight (trust on first use) and
  admitted, except flagged ones;
- a definition that is new, or whose hash differs from the pinned one (description,
  title, schema, `$defs`, annotations, …): withheld, and the audit log gets the diff;
- a pinned definition that is gone: nothing to withhold; the audit log records it;
- a flagged definition: withheld unless its pin approves exactly those findings.

What the hub saw is kept in `servers.seen.json` for `mcp-hub servers diff` / `pin`.
The gate fails closed: an unreadable lock file, or a first-use pin that cannot be
written, withholds everything of that server, with the reason.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import mcp_types as types
from pydantic import BaseModel

from mcp_hub.audit import AuditLog
from mcp_hub.errors import ConfigError
from mcp_hub.federation import canonical
from mcp_hub.federation.gate import Admission, Withheld
from mcp_hub.federation.lockfile import DefinitionFile, Servers, lock_file, seen_file
from mcp_hub.federation.poison import Finding, identifier_like, scan

if TYPE_CHECKING:
    from mcp_hub.server import HubServer

log = logging.getLogger(__name__)

Kind = Literal["tools", "prompts", "resource_templates"]
State = Literal["ok", "unpinned", "new", "changed", "removed", "flagged"]
_T = TypeVar("_T", bound=BaseModel)
MAX_AUDIT_DIFF_CHARS = 8000


@dataclass(frozen=True)
class Observed:
    """One definition as listed now: canonical form, hash, findings."""

    name: str
    definition: dict[str, Any]
    sha256: str
    findings: tuple[Finding, ...]

    def entry(self, approve: bool) -> dict[str, Any]:
        """Its lock-file entry: approving records its findings as seen and accepted by a person."""
        return {
            "sha256": self.sha256,
            "definition": self.definition,
            "approved_findings": sorted({f.key for f in self.findings}) if approve else [],
        }


@dataclass(frozen=True)
class Verdict:
    name: str
    state: State
    reason: str
    pinned: dict[str, Any] | None
    current: Observed | None

    @property
    def fields(self) -> list[str]:
        pinned = self.pinned["definition"] if self.pinned else None
        return canonical.changed_fields(pinned, self.current.definition if self.current else None)

    def diff(self, max_lines: int = 200) -> str:
        pinned = self.pinned["definition"] if self.pinned else None
        return canonical.render(
            self.name, pinned, self.current.definition if self.current else None, max_lines=max_lines
        )


def observe(
    items: Iterable[BaseModel | Mapping[str, Any]],
    *,
    foreign_tools: Collection[str] = (),
    foreign_servers: Collection[str] = (),
) -> dict[str, Observed]:
    observed: dict[str, Observed] = {}
    for item in items:
        raw = canonical.dump(item)
        form = canonical.canonical(raw)
        name = str(raw.get("name", ""))
        findings = scan(raw, foreign_tools=foreign_tools, foreign_servers=foreign_servers)
        observed[name] = Observed(name, form, canonical.digest(form), tuple(findings))
    return observed


def from_seen(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, Observed]:
    """What `servers.seen.json` recorded, as observations (for `servers diff` / `pin`)."""
    return {
        name: Observed(
            name,
            dict(entry["definition"]),
            str(entry["sha256"]),
            tuple(
                Finding(str(f.get("code")), str(f.get("where")), str(f.get("detail")))
                for f in entry.get("findings", [])
                if isinstance(f, dict)
            ),
        )
        for name, entry in entries.items()
    }


def compare(server: str, pinned: Mapping[str, Any] | None, current: Mapping[str, Observed]) -> list[Verdict]:
    """One verdict per definition (current ones first, then removed ones), sorted by name.

    `pinned` is the server's entries of one kind in the lock file, None when the server was never pinned.
    """
    verdicts: list[Verdict] = []
    for name in sorted(current):
        now = current[name]
        entry = (pinned or {}).get(name)
        if pinned is None:
            state: State = "unpinned"
            reason = f"server {server!r} is not pinned yet: review it and run `mcp-hub servers pin {server}`"
        elif entry is None:
            state, reason = "new", f"new since {server!r} was pinned: withheld until approved (`mcp-hub servers diff`)"
        elif entry["sha256"] != now.sha256:
            fields = ", ".join(canonical.changed_fields(entry["definition"], now.definition))
            state = "changed"
            reason = f"changed since pinned ({fields}): withheld until re-approved (`mcp-hub servers diff {server}`)"
        else:
            unapproved = [f for f in now.findings if f.key not in set(entry.get("approved_findings", []))]
            if unapproved:
                shown = "; ".join(str(f) for f in unapproved[:3]) + ("; …" if len(unapproved) > 3 else "")
                state = "flagged"
                reason = f"flagged ({shown}): withheld unless approved (`mcp-hub servers pin {server}`)"
            else:
                state, reason = "ok", ""
        verdicts.append(Verdict(name, state, reason, entry, now))
    for name in sorted(set(pinned or {}) - set(current)):
        verdicts.append(Verdict(name, "removed", "no longer listed by the server", (pinned or {})[name], None))
    return verdicts


class PinnedGate:
    """The hub's `DefinitionGate`: pinned definitions plus the poisoned-description scan.

    `directory` holds the lock file; `tofu` names servers pinned on first use; `catalog`
    gives the names of every tool the hub serves (native and federated), so a description
    naming one of another server's is flagged; `servers` names every configured server.
    """

    def __init__(
        self,
        directory: Path,
        *,
        tofu: Collection[str] = (),
        audit: AuditLog | None = None,
        catalog: Callable[[], Iterable[str]] | None = None,
        servers: Collection[str] = (),
    ) -> None:
        self.lock: DefinitionFile = lock_file(directory)
        self.seen: DefinitionFile = seen_file(directory)
        self._tofu = frozenset(tofu)
        self._audit = audit
        self._catalog = catalog
        self._servers = set(servers)
        self._names: dict[str, set[str]] = {}
        self._reported: set[tuple[str, ...]] = set()
        self._memo: dict[tuple[str, int], Observed] = {}

    def bind(self, hub: HubServer) -> None:
        """Called by the federation when the hub exists: its audit log, and its catalog's names."""
        if self._audit is None:
            self._audit = hub.audit
        if self._catalog is None:
            self._catalog = lambda: list(hub.hub_tools)

    def admit(self, server: str, tools: Sequence[types.Tool]) -> Admission:
        admitted, withheld = self.admit_definitions(server, "tools", tools)
        return Admission(admitted, withheld)

    def admit_definitions(
        self, server: str, kind: Kind, items: Sequence[_T]
    ) -> tuple[tuple[_T, ...], tuple[Withheld, ...]]:
        """The same gate for prompts and resource templates (keyed by `name`)."""
        if kind == "tools":
            self._names[server] = {getattr(i, "name", "") for i in items}
        judged = self._observe(server, items)
        current = {obs.name: obs for _, obs in judged}
        self._remember(server, kind, current)
        try:
            pinned = self._pinned(server, kind, current)
        except ConfigError as exc:
            reason = f"withheld: {exc.message}"
            return (), tuple(Withheld(name, reason) for name in current)
        verdicts = compare(server, pinned, current)
        self._report(server, kind, verdicts)
        # One name listed twice could pair a pinned definition with another one: neither is admitted.
        counts = Counter(obs.name for _, obs in judged)
        twice = {name for name, n in counts.items() if n > 1}
        ok = {v.name for v in verdicts if v.state == "ok"} - twice
        admitted = tuple(item for item, obs in judged if obs.name in ok)
        withheld = [
            Withheld(v.name, v.reason) for v in verdicts if v.state not in ("ok", "removed") and v.name not in twice
        ]
        withheld += [Withheld(name, f"listed {counts[name]} times under one name: withheld") for name in sorted(twice)]
        return admitted, tuple(withheld)

    def _observe(self, server: str, items: Sequence[_T]) -> list[tuple[_T, Observed]]:
        """`observe` each item, remembered per definition and per set of foreign names: a relisting costs
        a lookup."""
        tools = sorted(n for n in self._foreign_tools(server) if identifier_like(n))
        servers = sorted(self._foreign_servers(server))
        names_key = hash((tuple(tools), tuple(servers)))
        if len(self._memo) > 4096:
            self._memo.clear()
        judged: list[tuple[_T, Observed]] = []
        for item in items:
            key = (canonical.encode(canonical.dump(item)), names_key)
            found = self._memo.get(key)
            if found is None:
                (found,) = observe([item], foreign_tools=tools, foreign_servers=servers).values()
                self._memo[key] = found
            judged.append((item, found))
        return judged

    def _pinned(self, server: str, kind: Kind, current: Mapping[str, Observed]) -> dict[str, Any] | None:
        """The server's pins of this kind; None when it was never pinned. A `tofu` server's first listing
        of a kind is pinned here (an empty kind is pinned too: what appears later is new)."""
        servers = self.lock.read()
        if kind in servers.get(server, {}):
            return servers[server][kind]
        if server not in self._tofu:
            return {} if server in servers else None

        def pin_first_use(data: Servers) -> None:
            if kind not in data.get(server, {}):  # another process may have pinned it first: its pins stand
                data.setdefault(server, {})[kind] = {name: obs.entry(approve=False) for name, obs in current.items()}

        written = self.lock.update(pin_first_use)
        if not current:
            return written[server][kind]
        if self._audit is not None:
            self._audit.record_event(
                "definitions", server=server, kind=kind, change="pinned-on-first-use", names=sorted(current)
            )
        log.warning("federated server %r pinned on first use (%d %s) in %s", server, len(current), kind, self.lock.path)
        return written[server][kind]

    def _remember(self, server: str, kind: Kind, current: Mapping[str, Observed]) -> None:
        """Keep what was listed for `servers diff`/`pin`, when it differs from what is kept (best effort)."""
        entries = {
            name: {"sha256": o.sha256, "definition": o.definition, "findings": [asdict(f) for f in o.findings]}
            for name, o in current.items()
        }
        try:
            if self.seen.read().get(server, {}).get(kind) == entries:
                return

            def store(data: Servers) -> None:
                data.setdefault(server, {})[kind] = entries

            self.seen.update(store)
        except ConfigError as exc:
            log.warning("cannot record what %r listed: %s", server, exc.message)

    def _report(self, server: str, kind: Kind, verdicts: Sequence[Verdict]) -> None:
        """One audit line per change, once per process and per definition hash."""
        for verdict in verdicts:
            if verdict.state in ("ok", "unpinned"):
                continue
            sha = verdict.current.sha256 if verdict.current else ""
            key = (server, kind, verdict.name, verdict.state, sha)
            if key in self._reported:
                continue
            self._reported.add(key)
            what = "removed" if verdict.state == "removed" else f"withheld: {verdict.reason}"
            log.warning("federated %s %s of %r %s", kind[:-1], verdict.name, server, what)
            if self._audit is None:
                continue
            diff = verdict.diff() if verdict.state in ("new", "changed", "removed") else ""
            if len(diff) > MAX_AUDIT_DIFF_CHARS:
                diff = diff[:MAX_AUDIT_DIFF_CHARS] + f"… [{len(diff) - MAX_AUDIT_DIFF_CHARS} more chars]"
            self._audit.record_event(
                "definitions",
                server=server,
                kind=kind,
                name=verdict.name,
                change=verdict.state,
                pinned_sha256=verdict.pinned["sha256"] if verdict.pinned else None,
                current_sha256=sha or None,
                fields=verdict.fields,
                findings=[str(f) for f in verdict.current.findings] if verdict.current else [],
                diff=diff,
            )

    def _foreign_tools(self, server: str) -> set[str]:
        names = {n for s, ns in self._names.items() if s != server for n in ns}
        with contextlib.suppress(ConfigError):
            names |= {n for s, kinds in self.seen.read().items() if s != server for n in kinds.get("tools", {})}
        if self._catalog is not None:
            names |= {n for n in self._catalog() if not n.startswith(f"{server}_")}
        return names

    def _foreign_servers(self, server: str) -> set[str]:
        known = self._servers | set(self._names)
        with contextlib.suppress(ConfigError):
            known |= set(self.seen.read()) | set(self.lock.read())
        return known - {server}
