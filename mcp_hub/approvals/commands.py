"""`mcp-hub approvals list|show|approve|deny`: the queue from a terminal, against the configured state.

Plugged in through the `mcp_hub.commands` entry-point group. The store is the one `hub.state_url`
names (Redis or PostgreSQL for a hub with replicas; in-process state lives only inside one hub
process, so the CLI can only see a queue in a shared store). Decisions are audited to `hub.audit_log`
with the deciding person (`--by`, default: $USER) and the transport `cli`.

Exit codes: 0 done (or the same decision already stood: deciding again is idempotent); 1 an other
decision came first (or it expired): that decision stands and is printed; 2 a configuration or input
problem (unknown id, a denial without a note).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from typing import Any

import anyio

from mcp_hub.approvals.queue import ApprovalFilter, ApprovalQueue, Page
from mcp_hub.approvals.record import STATUSES, Approval
from mcp_hub.commands import Subparsers, add_config_argument, load_hub
from mcp_hub.errors import ConfigError, InvalidInput


def register(commands: Subparsers) -> None:
    approvals = commands.add_parser(
        "approvals",
        help="list, show, approve or deny writes held for a person",
        description="The approvals queue in the hub's shared state (hub.state_url).",
    )
    sub = approvals.add_subparsers(dest="approvals_command", required=True)
    listing = sub.add_parser("list", help="held writes, newest first")
    listing.add_argument("--status", choices=[*STATUSES, "all"], default="pending", help="default: pending")
    listing.add_argument("--page", type=int, default=1)
    listing.add_argument("--limit", type=int, default=50, help="per page (at most 200)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    show = sub.add_parser("show", help="everything about one approval: the write, where, why, who asked")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    approve = sub.add_parser("approve", help="let a held write run (once)")
    approve.add_argument("id")
    approve.add_argument("--note", default="")
    deny = sub.add_parser("deny", help="refuse a held write (the caller is told the note)")
    deny.add_argument("id")
    deny.add_argument("--note", required=True)
    for parser in (listing, show, approve, deny):
        add_config_argument(parser)
    for parser in (approve, deny):
        parser.add_argument("--by", help="who decides, for the audit log (default: $USER)")
        parser.add_argument("--json", action="store_true", help="machine-readable output")
    approvals.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config, _ = load_hub(args)
    if not config.hub.state_url:
        raise ConfigError(
            "hub.state_url is not set: held writes live inside the hub process that holds them. "
            "Set hub.state_url (redis://… or postgresql://…) for the hub and this command."
        )
    return anyio.run(_run, args, ApprovalQueue.from_config(config))


async def _run(args: argparse.Namespace, queue: ApprovalQueue) -> int:
    try:
        if args.approvals_command == "list":
            return await _list(args, queue)
        if args.approvals_command == "show":
            return await _show(args, queue)
        return await _decide(args, queue)
    except InvalidInput as exc:
        raise ConfigError(exc.message) from None
    finally:
        await queue.aclose()


async def _list(args: argparse.Namespace, queue: ApprovalQueue) -> int:
    status = None if args.status == "all" else args.status
    page = await queue.list(ApprovalFilter(status), Page(args.page, args.limit))
    if args.json:
        print(
            json.dumps(
                {
                    "total": page.total,
                    "page": page.page.number,
                    "has_next": page.has_next,
                    "items": [a.to_json() for a in page.items],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    if not page.items:
        print(f"no {args.status if status else ''} approvals".replace("  ", " "))
        return 0
    for a in page.items:
        print(
            f"{a.id}  {a.status:<9} {_when(a.created_at)}  {a.tool}  {a.target or '-'} ({a.target_visibility})"
            f"  asked by {a.caller}/{a.transport}"
        )
    if page.has_next:
        print(f"… {page.total} in all: --page {page.page.number + 1}")
    return 0


async def _show(args: argparse.Namespace, queue: ApprovalQueue) -> int:
    approval = await queue.get(args.id)
    if approval is None:
        raise InvalidInput(f"no approval with id {args.id!r}")
    print(json.dumps(approval.to_json(), ensure_ascii=False, indent=2) if args.json else describe(approval))
    return 0


async def _decide(args: argparse.Namespace, queue: ApprovalQueue) -> int:
    by = args.by or getpass.getuser()
    decision = await queue.decide(args.id, args.approvals_command == "approve", by, args.note, transport="cli")
    a = decision.approval
    if args.json:
        print(json.dumps({"won": decision.won, "approval": a.to_json()}, ensure_ascii=False, indent=2))
    elif decision.won:
        print(f"{a.id} {a.status} by {a.decided_by}")
    else:
        print(
            f"{a.id} was already {a.status}"
            + (f" by {a.decided_by}" if a.decided_by else "")
            + (f": {a.note}" if a.note else ""),
            file=sys.stderr,
        )
    wanted = "approved" if args.approvals_command == "approve" else "denied"
    return 0 if decision.won or a.status == wanted else 1


def describe(a: Approval) -> str:
    """A terminal view of one approval (the console shows the same fields)."""
    lines = [
        f"approval {a.id}: {a.status}",
        f"  asked by   {a.caller} ({a.transport})" + (f", agent run {a.run_id}" if a.run_id else ""),
        f"  created    {_when(a.created_at)}, expires {_when(a.expires_at)}",
        f"  tool       {a.tool}",
        f"  target     {a.target or '-'} ({a.target_visibility})",
        "  held because:",
        *[f"    - {r}" for r in a.reasons],
    ]
    if a.sources:
        lines.append(f"  read before: {', '.join(a.sources)}")
    for finding in a.scanner_findings:
        lines.append(f"  scanner: {json.dumps(finding, ensure_ascii=False)}")
    if a.status != "pending" and a.decided_at is not None:
        lines.append(f"  decided    {_when(a.decided_at)} by {a.decided_by or '-'}" + (f": {a.note}" if a.note else ""))
    lines.append("  arguments  " + json.dumps(_short(a.arguments), ensure_ascii=False))
    if a.evidence.kind == "file_change":
        lines += ["  diff:", *[f"    {line}" for line in a.evidence.diff.splitlines()]]
    elif a.evidence.kind == "comment":
        lines += ["  text:", *[f"    {line}" for line in a.evidence.text.splitlines()]]
    return _printable("\n".join(lines))


def _printable(text: str) -> str:
    """Control characters shown as escapes: a held comment must not drive the operator's terminal."""
    return "".join(c if c in "\n\t" or (c.isprintable() and c != "\x7f") else f"\\x{ord(c):02x}" for c in text)


def _short(arguments: dict[str, Any]) -> dict[str, Any]:
    return {k: (v[:120] + "…" if isinstance(v, str) and len(v) > 120 else v) for k, v in arguments.items()}


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch))
