"""Finding connectors (entry-point group `mcp_hub.connectors`) and their configured instances.

Loading an entry point imports only the connector's own module, never its SDK:
a connector imports its SDK in its lifespan or its tools.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError

from mcp_hub.config import HubConfig, describe_validation_error
from mcp_hub.connector import Connector, ConnectorSettings
from mcp_hub.errors import ConfigError

ENTRY_POINT_GROUP = "mcp_hub.connectors"
DEFAULT_INSTANCE = "default"

log = logging.getLogger(__name__)

AnyConnector = Connector[Any]


@dataclass(frozen=True, slots=True)
class InstanceStatus:
    """One connector instance as `config check` reports it."""

    connector: str
    instance: str
    enabled: bool
    reason: str | None
    settings: ConnectorSettings | None


class Registry:
    def __init__(self, classes: Iterable[type[AnyConnector]]) -> None:
        self.classes: dict[str, type[AnyConnector]] = {cls.name: cls for cls in classes}

    @classmethod
    def discover(cls, only: Iterable[str] | None = None) -> Registry:
        wanted = set(only) if only is not None else None
        found: list[type[AnyConnector]] = []
        for point in entry_points(group=ENTRY_POINT_GROUP):
            if wanted is not None and point.name not in wanted:
                continue
            try:
                loaded = point.load()
            except (ImportError, AttributeError) as exc:
                log.error("connector %s is not available (%s); it is disabled", point.name, exc)
                continue
            except Exception:
                log.exception("connector %s failed to load; it is disabled", point.name)
                continue
            if not (isinstance(loaded, type) and issubclass(loaded, Connector)):
                log.error("entry point %s is not a Connector subclass; ignored", point.name)
                continue
            found.append(loaded)
        return cls(found)

    def ecosystem_env(self) -> dict[str, Mapping[str, str]]:
        return {name: cls.ecosystem_env for name, cls in self.classes.items() if cls.ecosystem_env}

    def resolve(self, config: HubConfig) -> list[InstanceStatus]:
        """Every instance of every known connector, enabled or with the reason it is not."""
        statuses: list[InstanceStatus] = []
        unknown = sorted(set(config.connectors) - set(self.classes))
        if unknown:
            raise ConfigError(
                f"configuration names unknown connector(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(self.classes)) or 'none installed'}"
            )
        for name, cls in sorted(self.classes.items()):
            statuses.extend(self._instances(name, cls, dict(config.connectors.get(name, {}))))
        return statuses

    def _instances(self, name: str, cls: type[AnyConnector], raw: dict[str, Any]) -> list[InstanceStatus]:
        missing_modules = [m for m in cls.requires if importlib.util.find_spec(m) is None]
        if missing_modules:
            hint = f"not installed: pip install 'mcp-hub[{cls.extra or name}]'"
            return [InstanceStatus(name, DEFAULT_INSTANCE, False, hint, None)]
        named = raw.pop("instances", {}) or {}
        if not isinstance(named, dict):
            raise ConfigError(f"[{name}.instances] must be a table of named instances")
        candidates: list[tuple[str, dict[str, Any], bool]] = [(DEFAULT_INSTANCE, raw, bool(named))]
        candidates += [(instance, {**raw, **(over or {})}, False) for instance, over in sorted(named.items())]
        statuses = []
        for instance, values, optional in candidates:
            try:
                settings = cls.settings_model.model_validate(values)
            except ValidationError as exc:
                raise ConfigError(f"[{name}] instance {instance!r}: {describe_validation_error(exc)}") from None
            reason = settings.missing()
            if reason is not None and optional:
                continue  # shared settings for the named instances, not an instance itself
            statuses.append(InstanceStatus(name, instance, reason is None, reason, settings))
        return statuses
