"""`mcp-hub servers status | diff | pin`: review and approve federated servers' definitions.

The hub records what each server lists (`servers.seen.json`) and serves only what
the lock file (`servers.lock.json`) pins; these commands compare the two, show the
differences and the scanner's findings, and write approvals. `pin` asks before it
writes; `--yes` answers for scripts but approves flagged definitions only with
`--approve-flagged` too (a poisoned description must be a person's decision).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from mcp_hub.errors import ConfigError
from mcp_hub.federation.lockfile import KINDS, Servers, config_dir, lock_file, seen_file
from mcp_hub.federation.pins import Verdict, compare, from_seen
from mcp_hub.federation.poison import printable
from mcp_hub.redaction import Redactor

_LABEL = {
    "unpinned": "not pinned",
    "new": "new",
    "changed": "changed",
    "removed": "removed",
    "flagged": "flagged",
    "ok": "pinned",
}


def run(
    args: argparse.Namespace,
    redactor: Redactor,
    *,
    out: TextIO | None = None,
    ask: Callable[[str], str] | None = None,
) -> int:
    out = out or sys.stdout
    directory = config_dir(args.config)
    lock, seen = lock_file(directory), seen_file(directory)
    observed = seen.read()
    unseen = args.name not in observed if args.name else not observed
    if args.connect or (args.servers_command == "pin" and unseen):
        _connect(args, say=lambda text: print(redactor.redact(text), file=sys.stderr))
        observed = seen.read()
    pinned = lock.read()
    names = sorted(set(pinned) | set(observed))
    if args.name:
        if args.name not in names:
            raise ConfigError(
                f"no federated server {args.name!r} in {lock.path} or {seen.path}, nor one that answered in "
                f"the config: configure [servers.{args.name}] (and check `mcp-hub config check`), then "
                f"`mcp-hub servers pin {args.name}`"
            )
        names = [args.name]
    reviews = {name: _review(name, pinned, observed) for name in names}

    def say(text: str = "") -> None:
        print(redactor.redact(text), file=out)

    if args.servers_command == "status":
        return _status(reviews, say, as_json=args.json, where=str(lock.path))
    if args.servers_command == "diff":
        pending = {n: [v for v in vs if v.state != "ok"] for n, vs in reviews.items()}
        for name, verdicts in pending.items():
            for verdict in verdicts:
                _show(name, verdict, say)
        if not any(pending.values()):
            say(f"no changes: every listed definition matches {lock.path}")
        return 1 if any(pending.values()) else 0
    return _pin(args, reviews, observed, lock, say, ask or input)


def _connect(args: argparse.Namespace, *, say: Callable[[str], None], timeout_s: float = 60) -> None:
    """Start the configured servers (or NAME) through the hub's own federation and gate, which records
    what each lists in `servers.seen.json`; no connector is opened."""
    import dataclasses

    import anyio

    from mcp_hub.config import load_config
    from mcp_hub.federation.gate import default_gate
    from mcp_hub.registry import Registry
    from mcp_hub.server import build_server

    config = load_config(args.config)
    if args.servers:
        from mcp_hub.federation.report import add_servers_file

        add_servers_file(config, args.servers)
    servers = {n: s for n, s in config.servers.items() if args.name is None or n == args.name}
    if not servers:
        return  # nothing configured by that name: the caller says what it knows
    config = dataclasses.replace(config, servers=servers, connectors={})
    hub = build_server(config, registry=Registry([]), include_unconfigured=False, gate=default_gate(config))
    say(f"listing {', '.join(sorted(servers))} …")

    async def listed() -> None:
        async with hub.running():
            assert hub.federation is not None
            await hub.federation.wait_listed(timeout_s)
            for row in hub.federation.status():
                if row.get("state") != "ready":
                    say(f"{row['server']}: {row.get('state')} {row.get('detail') or ''}".rstrip())

    anyio.run(listed)


def _review(server: str, pinned: Servers, observed: Servers) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for kind in KINDS:
        current = from_seen(observed.get(server, {}).get(kind, {}))
        entries = pinned[server].get(kind, {}) if server in pinned else None
        if entries is None and not current:
            continue
        verdicts += [_kinded(v, kind) for v in compare(server, entries, current)]
    return verdicts


def _kinded(verdict: Verdict, kind: str) -> Verdict:
    """Prompts and templates are shown as `prompt:NAME` / `resource_template:NAME`."""
    if kind == "tools":
        return verdict
    return Verdict(f"{kind[:-1]}:{verdict.name}", verdict.state, verdict.reason, verdict.pinned, verdict.current)


def _status(reviews: dict[str, list[Verdict]], say: Callable[[str], None], *, as_json: bool, where: str) -> int:
    if as_json:
        report = {
            name: [{"name": v.name, "state": v.state, "reason": v.reason} for v in verdicts]
            for name, verdicts in reviews.items()
        }
        say(json.dumps({"lock_file": where, "servers": report}, indent=2))
        return 0
    say(f"lock file: {where}")
    if not reviews:
        say("no federated server has been seen or pinned yet")
    for name, verdicts in reviews.items():
        counts: dict[str, int] = {}
        for verdict in verdicts:
            counts[verdict.state] = counts.get(verdict.state, 0) + 1
        summary = ", ".join(f"{n} {_LABEL[s]}" for s, n in sorted(counts.items())) or "nothing listed"
        say(f"{name}: {summary}")
        for verdict in verdicts:
            if verdict.state != "ok":
                say(f"  {_LABEL[verdict.state]:<10} {printable(verdict.name)}: {verdict.reason}")
    return 0


def _show(server: str, verdict: Verdict, say: Callable[[str], None]) -> None:
    fields = f" ({', '.join(verdict.fields)})" if verdict.state == "changed" else ""
    say(f"== {server}: {_LABEL[verdict.state]} {printable(verdict.name)}{fields}")
    if verdict.state in ("unpinned", "new", "changed", "removed"):
        say(verdict.diff())
    for finding in verdict.current.findings if verdict.current else ():
        say(f"   ! {finding}")


def _pin(
    args: argparse.Namespace,
    reviews: dict[str, list[Verdict]],
    observed: Servers,
    lock: Any,
    say: Callable[[str], None],
    ask: Callable[[str], str],
) -> int:
    pending = {n: [v for v in vs if v.state != "ok"] for n, vs in reviews.items()}
    pending = {n: vs for n, vs in pending.items() if vs}
    if not pending:
        say("nothing to pin: every listed definition is pinned")
        return 0
    for name, verdicts in pending.items():
        for verdict in verdicts:
            _show(name, verdict, say)
    flagged = [v for vs in pending.values() for v in vs if v.current and v.current.findings]
    count = sum(len(vs) for vs in pending.values())
    if not args.yes and not _confirm(ask, f"pin {count} change(s) for {', '.join(pending)}? [y/N] "):
        say("nothing written")
        return 1
    approve_flagged = args.approve_flagged
    if flagged and not approve_flagged and not args.yes:
        approve_flagged = _confirm(
            ask, f"{len(flagged)} of them are flagged (see `!` above): approve those too? [y/N] "
        )

    def write(data: Servers) -> None:
        for server in pending:
            kinds = data.setdefault(server, {})
            for kind in KINDS:
                current = from_seen(observed.get(server, {}).get(kind, {}))
                before = kinds.get(kind, {})
                entries: dict[str, Any] = {}
                for name, obs in current.items():
                    old = before.get(name)
                    entry = obs.entry(approve=approve_flagged)
                    if not approve_flagged and old is not None and old.get("sha256") == obs.sha256:
                        entry["approved_findings"] = old.get("approved_findings", [])
                    entries[name] = entry
                kinds[kind] = entries

    lock.update(write)
    still = [printable(v.name) for v in flagged] if not approve_flagged else []
    say(f"pinned in {lock.path}" + (f"; still withheld as flagged: {', '.join(still)}" if still else ""))
    return 0


def _confirm(ask: Callable[[str], str], question: str) -> bool:
    try:
        return ask(question).strip().lower() in ("y", "yes")
    except EOFError:
        return False
