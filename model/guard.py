"""The flow guard: once a run has read non-public data, writes to public places need a person.

It learns from the hub's provenance labels (`_meta["mcp_hub/provenance"]`):
- whether the run has read private or internal content (`tainted`);
- the visibility of each place it read, keyed `connector://owner/repo` (the
  first two path segments of the resource; `connector://channel` for one).

Before a write it names the target from the arguments (`repo`, `project`,
`project_id`, `channel`, `channel_id`) and looks up its visibility. A target
it has not read is probed with a read tool of the same connector
(`PROBES`: `github_list_branches(repo, limit=1)`, likewise on GitLab), whose provenance says
the visibility. A target it cannot name or probe counts as public: the guard
fails closed.

Text written by outsiders (`outsider_text` in the labels: an issue by a
non-member, a row of a table the operator marked, e.g. support tickets) is
untrusted: once a run has read such text *and* non-public data, every write
needs a person, whatever the target's label. The outsider who may be steering
the run can often read a place labelled private (their own support ticket in
the company database, an issue thread they opened): the "lethal trifecta" of
private data, untrusted instructions and a way out, which the visibility labels
alone cannot rule out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mcp_hub.provenance import VISIBILITY_RANK
from model import vocab

TARGET_KEYS = ("repo", "project", "project_id", "channel", "channel_id")


def _branches_probe(forge: vocab.Forge) -> tuple[str, Callable[[str], dict[str, Any]]]:
    """One page of one branch: the cheapest read of a repository, the same tool on both forges."""
    return vocab.tool(forge, "list_branches"), lambda target: vocab.where(forge, target) | {"limit": 1}


#: connector -> (read tool, arguments for a target) used to learn a target's visibility.
PROBES: dict[str, tuple[str, Callable[[str], dict[str, Any]]]] = {
    "github": _branches_probe("github"),
    "gitlab": _branches_probe("gitlab"),
}

Probe = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass
class FlowDecision:
    needs_approval: bool
    reason: str = ""
    target: str | None = None
    visibility: str | None = None


@dataclass
class FlowGuard:
    tainted_by: list[str] = field(default_factory=list)
    outsider_seen: bool = False
    #: Resources whose results held outsider text.
    outsider_from: list[str] = field(default_factory=list)
    known: dict[str, str] = field(default_factory=dict)

    @property
    def tainted(self) -> bool:
        return bool(self.tainted_by)

    def observe(self, provenance: dict[str, Any]) -> None:
        if not provenance:
            return
        visibility = str(provenance.get("visibility", "public"))
        resource = str(provenance.get("resource", ""))
        if VISIBILITY_RANK.get(visibility, 2) > 0:
            self.tainted_by.append(resource or str(provenance.get("connector", "?")))
        if provenance.get("outsider_text"):
            self.outsider_seen = True
            self.outsider_from.append(resource or str(provenance.get("connector", "?")))
        key = place_of(resource)
        if key is not None:
            self.known[key] = visibility

    def target_of(self, tool: str, arguments: dict[str, Any]) -> str | None:
        connector = tool.split("_", 1)[0]
        for key in TARGET_KEYS:
            value = arguments.get(key)
            if isinstance(value, str | int) and str(value):
                return f"{connector}://{str(value).strip('/')}"
        return None

    async def check_write(self, tool: str, arguments: dict[str, Any], probe: Probe | None) -> FlowDecision:
        if not self.tainted:
            return FlowDecision(False)
        target = self.target_of(tool, arguments)
        visibility = self.known.get(target) if target else None
        if target is not None and visibility is None and probe is not None:
            visibility = await self._probe(tool, target, probe)
        if visibility is not None and VISIBILITY_RANK.get(visibility, 0) > 0:
            if self.outsider_seen:
                return FlowDecision(
                    True,
                    reason=(
                        f"this run read non-public data ({', '.join(self.tainted_by[:3])}) and text written by "
                        f"outsiders ({', '.join(self.outsider_from[:3])}), who may be able to read "
                        f"{target} ({visibility}) and may be steering this run"
                    ),
                    target=target,
                    visibility=visibility,
                )
            return FlowDecision(False, target=target, visibility=visibility)
        where = f"{target} ({visibility or 'visibility unknown, treated as public'})" if target else "an unknown place"
        read = f"non-public data ({', '.join(self.tainted_by[:3])})"
        if self.outsider_seen:
            read += f" and text written by outsiders ({', '.join(self.outsider_from[:3])})"
        return FlowDecision(
            True,
            reason=f"this run read {read} and would now write to {where}",
            target=target,
            visibility=visibility or "public",
        )

    async def _probe(self, tool: str, target: str, probe: Probe) -> str | None:
        connector, _, place = target.partition("://")
        spec = PROBES.get(connector)
        if spec is None:
            return None
        name, make_args = spec
        try:
            provenance = await probe(name, make_args(place))
        except Exception:
            return None
        visibility = provenance.get("visibility")
        if isinstance(visibility, str):
            self.known[target] = visibility
            return visibility
        return None


def place_of(resource: str) -> str | None:
    """`github://acme/widgets/issues/4` -> `github://acme/widgets`; `slack://C123/…` -> `slack://C123`."""
    scheme, sep, rest = resource.partition("://")
    if not sep or not rest:
        return None
    parts = [p for p in rest.split("/") if p]
    if scheme in ("github", "gitlab") and len(parts) >= 2:
        return f"{scheme}://{parts[0]}/{parts[1]}"
    return f"{scheme}://{parts[0]}" if parts else None
