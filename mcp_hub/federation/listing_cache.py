"""A federated server's last known listing, on disk beside the native catalog cache.

The hub publishes it at start-up (before the server has answered, or while it is down), so a slow
or dead server never delays the handshake or `tools/list`. The file holds what the server listed,
as it listed it: the definition gate still judges it on every start-up, so a cached listing is never
a way around pinning. The key hashes what identifies the server (its command and arguments or its
URL, never its env or headers, which may hold secrets); another server behind the same name gets
another file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp import types as mt
from pydantic import ValidationError

from mcp_hub.catalog_cache import cache_dir
from mcp_hub.federation.settings import ServerSettings

log = logging.getLogger(__name__)

FORMAT = 1


@dataclass(frozen=True)
class Listing:
    tools: list[mt.Tool]
    resources: list[mt.Resource]
    templates: list[mt.ResourceTemplate]
    prompts: list[mt.Prompt]


def key(name: str, settings: ServerSettings) -> str:
    identity = [FORMAT, name, settings.command, settings.args, settings.cwd, settings.url]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]


def path(name: str, cache_key: str) -> Path:
    return cache_dir() / f"server-{name}-{cache_key}.json"


def read(name: str, cache_key: str) -> Listing | None:
    file = path(name, cache_key)
    try:
        data = json.loads(file.read_text())
        if data.get("format") != FORMAT or data.get("key") != cache_key:
            return None
        return Listing(
            [mt.Tool.model_validate(t) for t in data["tools"]],
            [mt.Resource.model_validate(r) for r in data["resources"]],
            [mt.ResourceTemplate.model_validate(r) for r in data["templates"]],
            [mt.Prompt.model_validate(p) for p in data["prompts"]],
        )
    except (OSError, ValueError, KeyError, TypeError, ValidationError):
        return None


def write(name: str, cache_key: str, listing: Listing) -> None:
    """Atomically; a cache that cannot be written only costs the next start-up this server's catalog."""
    file = path(name, cache_key)

    def dump(items: list[Any]) -> list[Any]:
        return [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]

    payload = {
        "format": FORMAT,
        "key": cache_key,
        "server": name,
        "tools": dump(listing.tools),
        "resources": dump(listing.resources),
        "templates": dump(listing.templates),
        "prompts": dump(listing.prompts),
    }
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(payload, out, separators=(",", ":"))
            os.replace(tmp, file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("could not write the server listing cache %s (%s)", file, exc.strerror or type(exc).__name__)
