"""The definition gate: the one choke point every federated server's tool listing crosses.

Each time the hub (re)lists a federated server's tools it hands them to the configured
``DefinitionGate``; only ``Admission.admitted`` is exposed to clients, and ``withheld`` is
reported (``config check``, ``/healthz``, ``mcp-hub tools``) with its reason. ``AdmitAll`` is the
gate with no opinion; the pinning / poisoned-description gate plugs in through
``mcp_hub.federation.gate.default_gate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mcp import types

if TYPE_CHECKING:
    from mcp_hub.config import HubConfig


@dataclass(frozen=True)
class Withheld:
    """A tool the gate keeps from clients, and why."""

    name: str  # the server's own tool name
    reason: str  # human-readable, e.g. "description changed since pinned: ..."


@dataclass(frozen=True)
class Admission:
    """The gate's verdict on one listing."""

    admitted: tuple[types.Tool, ...]  # as the server listed them (un-namespaced)
    withheld: tuple[Withheld, ...]


class DefinitionGate(Protocol):
    """Decides which of a server's listed tools may reach clients."""

    def admit(self, server: str, tools: Sequence[types.Tool]) -> Admission: ...


class AdmitAll:
    """Admits every tool as listed (no pinning, no scanning)."""

    def admit(self, server: str, tools: Sequence[types.Tool]) -> Admission:
        return Admission(admitted=tuple(tools), withheld=())


def default_gate(config: HubConfig | None = None) -> DefinitionGate:
    """The gate the hub uses for every federated server (`build_server`): the one place to swap it.

    `config` is the hub's configuration (its `path`, `servers`), for a gate that keeps state beside it.
    The hub's is `PinnedGate`: definitions pinned in `servers.lock.json` beside the config file (else in
    `$XDG_CONFIG_HOME/mcp-hub/`) and scanned for poisoning; `AdmitAll` only when a caller asks for it.
    """
    from mcp_hub.federation.lockfile import config_dir
    from mcp_hub.federation.pins import PinnedGate

    servers = config.servers if config is not None else {}
    return PinnedGate(
        config_dir(config.path if config is not None else None),
        tofu={name for name, settings in servers.items() if settings.pin == "tofu"},
        servers=servers,
    )
