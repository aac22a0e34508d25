"""Which tools a caller may see and call, and which data it may receive.

A tool is visible when all of these hold:
- its connector is in the caller's connectors (None = all);
- its toolset is selected: `all`, `default` (each connector's default
  toolsets), a connector name (all its toolsets), `connector.toolset`, or a
  bare toolset name;
- it is read-only, or writes are allowed (destructive ones need destructive
  allowed as well);
- its name matches an `allow` glob (empty = all) and no `deny` glob.

A caller's policy is the hub's policy narrowed by its token's: a token can
take away, never add.

`hold` (tool globs: `hub.approve_writes`, and a token's or named policy's own
`approve_writes`) names the write tools whose calls wait for a person's approval
(`mcp_hub.approvals`); a token can add holds, never lift the hub's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from mcp_hub.provenance import Visibility


@dataclass(frozen=True, slots=True)
class ToolFacts:
    """What policy needs to know about a tool."""

    name: str
    connector: str
    toolset: str
    read_only: bool
    destructive: bool
    default_toolset: bool


@dataclass(frozen=True, slots=True)
class Policy:
    allow_writes: bool = False
    allow_destructive: bool = False
    toolsets: frozenset[str] = frozenset({"default"})
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    connectors: frozenset[str] | None = None
    hold: tuple[str, ...] = ()

    def held_by(self, tool: ToolFacts) -> str | None:
        """The `hold` glob that makes a call of `tool` wait for approval (never for a read-only tool)."""
        if tool.read_only:
            return None
        return next((glob for glob in self.hold if fnmatchcase(tool.name, glob)), None)

    def permits(self, tool: ToolFacts) -> bool:
        if self.connectors is not None and tool.connector not in self.connectors:
            return False
        if not self._toolset_selected(tool):
            return False
        if not tool.read_only and not self.allow_writes:
            return False
        if tool.destructive and not (self.allow_writes and self.allow_destructive):
            return False
        if self.allow and not any(fnmatchcase(tool.name, glob) for glob in self.allow):
            return False
        return not any(fnmatchcase(tool.name, glob) for glob in self.deny)

    def permits_connector(self, connector: str) -> bool:
        return self.connectors is None or connector in self.connectors

    def also(self, other: Policy) -> Policy:
        """What both this policy and `other` permit: a request's own narrowing on top of its caller's
        policy (HTTP headers such as `X-MCP-Toolsets`), which can take away and never add."""
        return _BothPolicies(
            allow_writes=self.allow_writes and other.allow_writes,
            allow_destructive=self.allow_destructive and other.allow_destructive,
            toolsets=self.toolsets,
            allow=self.allow,
            deny=self.deny,
            connectors=_meet(self.connectors, other.connectors),
            hold=self.hold + tuple(g for g in other.hold if g not in self.hold),
            first=self,
            second=other,
        )

    def _toolset_selected(self, tool: ToolFacts) -> bool:
        selected = self.toolsets
        if "all" in selected or tool.connector in selected or tool.toolset in selected:
            return True
        if f"{tool.connector}.{tool.toolset}" in selected:
            return True
        return "default" in selected and tool.default_toolset

    def narrowed(
        self,
        *,
        allow_writes: bool,
        allow_destructive: bool,
        toolsets: Iterable[str] | None,
        allow: Iterable[str],
        deny: Iterable[str],
        connectors: Iterable[str] | None,
        hold: Iterable[str] = (),
    ) -> Policy:
        """This policy further restricted by a token's settings."""
        mine = self.connectors
        theirs = frozenset(connectors) if connectors is not None else None
        if mine is None:
            joined = theirs
        elif theirs is None:
            joined = mine
        else:
            joined = mine & theirs
        return _NarrowedPolicy(
            allow_writes=self.allow_writes and allow_writes,
            allow_destructive=self.allow_destructive and allow_destructive,
            toolsets=self.toolsets,
            allow=self.allow,
            deny=self.deny + tuple(deny),
            connectors=joined,
            hold=self.hold + tuple(g for g in hold if g not in self.hold),
            extra_toolsets=frozenset(toolsets) if toolsets is not None else None,
            extra_allow=tuple(allow),
        )


@dataclass(frozen=True, slots=True)
class _NarrowedPolicy(Policy):
    """A policy with a second toolset selection and allow-list, both of which must pass."""

    extra_toolsets: frozenset[str] | None = None
    extra_allow: tuple[str, ...] = ()

    def permits(self, tool: ToolFacts) -> bool:
        if not Policy.permits(self, tool):
            return False
        if self.extra_toolsets is not None and not Policy(toolsets=self.extra_toolsets)._toolset_selected(tool):
            return False
        return not self.extra_allow or any(fnmatchcase(tool.name, glob) for glob in self.extra_allow)


def _meet(one: frozenset[str] | None, two: frozenset[str] | None) -> frozenset[str] | None:
    if one is None:
        return two
    return one if two is None else one & two


@dataclass(frozen=True, slots=True)
class _BothPolicies(Policy):
    """Two policies, each of which must permit (the fields above are their conjunction, for readers
    such as a connector asking `allow_writes`)."""

    first: Policy | None = None
    second: Policy | None = None

    def permits(self, tool: ToolFacts) -> bool:
        return all(p.permits(tool) for p in (self.first, self.second) if p is not None)

    def permits_connector(self, connector: str) -> bool:
        return all(p.permits_connector(connector) for p in (self.first, self.second) if p is not None)


@dataclass(frozen=True, slots=True)
class DataBoundary:
    """Which callers may receive internal and private results (globs on caller names)."""

    private_callers: tuple[str, ...] = ("*",)
    internal_callers: tuple[str, ...] = ("*",)

    def permits(self, caller: str, visibility: Visibility) -> bool:
        if visibility == "private":
            globs = self.private_callers
        elif visibility == "internal":
            globs = self.internal_callers
        else:
            return True
        return any(glob == "*" or fnmatchcase(caller, glob) for glob in globs)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: its identity (audit, data boundary), transport and policy.

    `lockdown` asks connectors to withhold outsider text entirely; a request can
    switch it on (HTTP header `X-MCP-Hub-Lockdown: 1`), never off.
    """

    name: str
    transport: str
    policy: Policy
    lockdown: bool = False
