"""The catalog cache: what clients see of a connector's tools, kept on disk between start-ups.

Importing a connector (its tools and pydantic models) and generating each
tool's input and output schemas is most of what `mcp-hub serve` spends beyond
a bare MCPServer. The first start-up writes, per configured connector, the
tools' names, specs and compact schemas and the resources' specs to
`$XDG_CACHE_HOME/mcp-hub/catalog-<connector>-<key>.json` (default `~/.cache`);
later start-ups publish them from there and import the connector on its first
call (`mcp_hub.deferred`).

The key hashes everything the listing is derived from: the cache format, the
Python, `mcp` and `pydantic` versions, the connector's source files and the
hub's own, the connector's target and its instance names. A code change gives
a new key, so a stale file is never read; a file that fails to parse or does
not match is ignored (and rewritten). `[hub] catalog_cache = false` (`MCP_HUB_HUB__CATALOG_CACHE=0`)
turns it off.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from mcp_hub.connector import ConnectorManifest, ResourceSpec, ToolSpec

log = logging.getLogger(__name__)

FORMAT = 1
_HUB_PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class CachedTool:
    spec: ToolSpec
    default_toolset: bool
    #: The compact input schema the hub publishes (with the `instance` argument when there are several).
    parameters: dict[str, Any]
    output_schema: dict[str, Any] | None


@dataclass(frozen=True)
class CachedResource:
    spec: ResourceSpec
    default_toolset: bool


@dataclass(frozen=True)
class CachedCatalog:
    tools: list[CachedTool]
    resources: list[CachedResource]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mcp-hub"


def _package_dir(manifest: ConnectorManifest) -> Path | None:
    """The directory of the connector's top package (e.g. `connectors/github` for `connectors.github.connector`)."""
    module_name = manifest.target.partition(":")[0]
    parts = module_name.split(".")
    package = ".".join(parts[:-1]) if len(parts) > 1 else module_name
    module = sys.modules.get(package)
    paths = list(getattr(module, "__path__", []) or [])
    return Path(paths[0]) if paths else None


def _hash_sources(digest: Any, directory: Path) -> None:
    for path in sorted(directory.rglob("*.py")):
        digest.update(str(path.relative_to(directory)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")


@functools.cache
def _shared_part() -> str | None:
    """What every connector's key shares (SDK versions, the hub's own sources): computed once per process."""
    try:
        versions = [version("mcp"), version("pydantic")]
        digest = hashlib.sha256(json.dumps([FORMAT, sys.version, *versions]).encode())
        _hash_sources(digest, _HUB_PACKAGE)
    except (PackageNotFoundError, OSError):
        return None
    return digest.hexdigest()


def cache_key(manifest: ConnectorManifest, instances: list[str], default: str) -> str | None:
    """The key of this connector's catalog, or None when its sources cannot be found (no caching)."""
    package = _package_dir(manifest)
    shared = _shared_part()
    if package is None or shared is None:
        return None
    digest = hashlib.sha256(shared.encode())
    digest.update(json.dumps([manifest.name, manifest.target, sorted(instances), default]).encode())
    try:
        _hash_sources(digest, package)
    except OSError:
        return None
    return digest.hexdigest()[:40]


def cache_path(name: str, key: str) -> Path:
    return cache_dir() / f"catalog-{name}-{key}.json"


def read(name: str, key: str) -> CachedCatalog | None:
    """The cached catalog, or None when there is none or it is unreadable (the caller rebuilds it)."""
    path = cache_path(name, key)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw["format"] != FORMAT or raw["key"] != key or raw["connector"] != name:
            raise ValueError("does not match its name")
        tools = [
            CachedTool(
                ToolSpec(**entry["spec"]),
                bool(entry["default_toolset"]),
                dict(entry["parameters"]),
                None if entry["output_schema"] is None else dict(entry["output_schema"]),
            )
            for entry in raw["tools"]
        ]
        resources = [
            CachedResource(ResourceSpec(**entry["spec"]), bool(entry["default_toolset"])) for entry in raw["resources"]
        ]
    except FileNotFoundError:
        return None
    except Exception as exc:  # a corrupt or foreign file: rebuild, never fail the start-up
        log.warning("ignoring the catalog cache %s (%s); it will be rebuilt", path, type(exc).__name__)
        return None
    return CachedCatalog(tools, resources)


def write(name: str, key: str, catalog: CachedCatalog) -> None:
    """Write atomically; a cache that cannot be written only costs the next start-up its speed."""
    path = cache_path(name, key)
    payload = {
        "format": FORMAT,
        "key": key,
        "connector": name,
        "tools": [
            {
                "spec": asdict(tool.spec),
                "default_toolset": tool.default_toolset,
                "parameters": tool.parameters,
                "output_schema": tool.output_schema,
            }
            for tool in catalog.tools
        ],
        "resources": [
            {"spec": asdict(resource.spec), "default_toolset": resource.default_toolset}
            for resource in catalog.resources
        ],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(payload, out, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("could not write the catalog cache %s (%s)", path, exc.strerror or type(exc).__name__)
        return
    _prune(name, keep=path)


#: Another key's file for the same connector (an older version, another install) is removed once
#: it has not been written for this long: each upgrade would otherwise leave one behind.
STALE_AFTER_S = 7 * 24 * 3600


def _prune(name: str, keep: Path) -> None:
    cutoff = time.time() - STALE_AFTER_S
    for other in keep.parent.glob(f"catalog-{name}-*.json"):
        try:
            if other != keep and other.stat().st_mtime < cutoff:
                other.unlink()
        except OSError:
            continue  # gone already, or not ours to remove
