"""Finding connectors (entry-point group `mcp_hub.connectors`) and their configured instances.

An entry point names either a `ConnectorManifest` (preferred: the connector's
class, tools and models are imported only when it is configured) or the
`Connector` subclass itself. A connector never imports its SDK at import time:
it imports it in its lifespan or its tools.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError

from mcp_hub.config import (
    SERVICE_SECTIONS,
    HubConfig,
    describe_validation_error,
    problems_error,
    validation_problems,
)
from mcp_hub.connector import Connector, ConnectorManifest, ConnectorSettings
from mcp_hub.errors import ConfigError
from mcp_hub.install import install_hint

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
    def __init__(self, connectors: Iterable[type[AnyConnector] | ConnectorManifest]) -> None:
        self.manifests: dict[str, ConnectorManifest] = {}
        self._classes: dict[str, type[AnyConnector]] = {}
        for item in connectors:
            if isinstance(item, ConnectorManifest):
                self.manifests[item.name] = item
            else:
                self.manifests[item.name] = ConnectorManifest(
                    item.name, f"{item.__module__}:{item.__qualname__}", item.ecosystem_env
                )
                self._classes[item.name] = item

    @classmethod
    def discover(cls, only: Iterable[str] | None = None) -> Registry:
        wanted = set(only) if only is not None else None
        found: list[type[AnyConnector] | ConnectorManifest] = []
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
            if isinstance(loaded, ConnectorManifest) or (isinstance(loaded, type) and issubclass(loaded, Connector)):
                found.append(loaded)
            else:
                log.error("entry point %s is neither a ConnectorManifest nor a Connector subclass; ignored", point.name)
        return cls(found)

    def connector_class(self, name: str) -> type[AnyConnector]:
        """The connector's class, imported on first use."""
        if name not in self._classes:
            self._classes[name] = self.manifests[name].load()
        return self._classes[name]

    @property
    def classes(self) -> dict[str, type[AnyConnector]]:
        """Every connector's class (imports them all: for `config check`, `tools` and benches)."""
        return {name: self.connector_class(name) for name in sorted(self.manifests)}

    def ecosystem_env(self) -> dict[str, Mapping[str, str]]:
        return {name: m.ecosystem_env for name, m in self.manifests.items() if m.ecosystem_env}

    def resolve(self, config: HubConfig, *, include_unconfigured: bool = True) -> list[InstanceStatus]:
        """Every instance of every known connector, enabled or with the reason it is not.

        With `include_unconfigured=False` (what `serve` uses), connectors that
        nothing configures are skipped without importing them.
        """
        statuses: list[InstanceStatus] = []
        problems = self.problems(config.connectors)
        if problems:
            raise problems_error(problems)
        for name, manifest in sorted(self.manifests.items()):
            configured = name in config.connectors or manifest.enabled_without_config
            if not (configured or include_unconfigured):
                continue
            try:
                settings_model, requires, extra = self._settings_facts(name)
            except (ImportError, AttributeError, TypeError) as exc:
                statuses.append(InstanceStatus(name, DEFAULT_INSTANCE, False, f"cannot be loaded: {exc}", None))
                continue
            raw = dict(config.connectors.get(name, {}))
            statuses.extend(self._instances(name, settings_model, requires, extra, raw))
        return statuses

    def problems(self, sections: Mapping[str, Any], *, only_sections: bool = False) -> list[str]:
        """Every problem of the connector sections, with full paths: unknown sections, and (unless
        `only_sections`) settings each instance's model refuses. Nothing is connected or imported
        beyond the settings models."""
        problems = []
        unknown = sorted(set(sections) - set(self.manifests))
        if unknown:
            known = ", ".join(sorted(["hub", "http", "model", "servers", *SERVICE_SECTIONS, *self.manifests]))
            problems += [f"[{name}]: unknown section (known: {known})" for name in unknown]
        if only_sections:
            return problems
        for name in sorted(set(sections) & set(self.manifests)):
            raw = dict(sections[name])
            named = raw.pop("instances", {}) or {}
            if not isinstance(named, dict):
                problems.append(f"{name}.instances: must be a table of named instances")
                continue
            try:
                settings_model = self._settings_facts(name)[0]
            except (ImportError, AttributeError, TypeError):
                continue  # reported as "cannot be loaded" by resolve
            candidates = [(name, raw, bool(named))] + [
                (f"{name}.instances.{instance}", {**raw, **(over or {})}, False)
                for instance, over in sorted(named.items())
            ]
            for path, values, shared_only in candidates:
                try:
                    settings_model.model_validate(values)
                except ValidationError as exc:
                    if not (shared_only and all(e["type"] == "missing" for e in exc.errors())):
                        problems += validation_problems(exc, path)
        return problems

    def _settings_facts(self, name: str) -> tuple[type[ConnectorSettings], tuple[str, ...], str]:
        """Settings model, required modules and extra: from the manifest when it names a settings model
        (the connector itself is not imported), else from the connector's class."""
        manifest = self.manifests[name]
        if manifest.settings and name not in self._classes:
            return manifest.load_settings_model(), manifest.requires, manifest.extra
        cls = self.connector_class(name)
        return cls.settings_model, cls.requires, cls.extra

    def _instances(
        self,
        name: str,
        settings_model: type[ConnectorSettings],
        requires: tuple[str, ...],
        extra: str,
        raw: dict[str, Any],
    ) -> list[InstanceStatus]:
        missing_modules = [m for m in requires if importlib.util.find_spec(m) is None]
        if missing_modules:
            hint = f"not installed: {install_hint(extra or name)}"
            return [InstanceStatus(name, DEFAULT_INSTANCE, False, hint, None)]
        named = raw.pop("instances", {}) or {}
        if not isinstance(named, dict):
            raise ConfigError(f"[{name}.instances] must be a table of named instances")
        candidates: list[tuple[str, dict[str, Any], bool]] = [(DEFAULT_INSTANCE, raw, bool(named))]
        candidates += [(instance, {**raw, **(over or {})}, False) for instance, over in sorted(named.items())]
        statuses = []
        for instance, values, optional in candidates:
            try:
                settings = settings_model.model_validate(values)
            except ValidationError as exc:
                raise ConfigError(f"[{name}] instance {instance!r}: {describe_validation_error(exc)}") from None
            reason = settings.missing()
            if reason is not None and optional:
                continue  # shared settings for the named instances, not an instance itself
            statuses.append(InstanceStatus(name, instance, reason is None, reason, settings))
        return statuses
