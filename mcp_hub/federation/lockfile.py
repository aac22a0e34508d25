"""The lock file of pinned definitions, and the record of what each server last listed.

`servers.lock.json` lives in the config directory (beside the `--config` file, else
`$XDG_CONFIG_HOME/mcp-hub/`): reviewed, committed with the config, changed only by
`mcp-hub servers pin` (and by the hub for a server configured `pin = "tofu"`, on
first sight). One entry per definition, sorted, one field a line, non-ASCII escaped
(a hidden character shows in review as `\\u200b`):

    {"servers": {"git": {"tools": {"git_status": {
        "approved_findings": [],
        "definition": {"description": "Shows the working tree status", …},
        "sha256": "sha256:…"}}}},
     "version": 1}

`servers.seen.json`, beside it, is what the hub last saw each server list (same
shape, with each definition's findings instead of approvals): what `servers diff`
compares and `servers pin` approves. It is written by the hub, never trusted: an
approval binds to a hash, and the hub admits only what matches it.

Writers take an exclusive `flock` on a sidecar file and replace the file atomically,
so concurrent hubs (one stdio process per client session) and the CLI never lose or
tear an update.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from mcp_hub.errors import ConfigError

LOCK_NAME = "servers.lock.json"
SEEN_NAME = "servers.seen.json"
VERSION = 1
KINDS = ("tools", "prompts", "resource_templates")
_COMMENT = (
    "Pinned definitions of federated MCP servers. Review changes with `mcp-hub servers diff`, "
    "approve them with `mcp-hub servers pin`; the hub withholds anything that does not match."
)

#: server -> kind -> name -> entry (`sha256`, `definition`, and `approved_findings` or `findings`)
Servers = dict[str, dict[str, dict[str, dict[str, Any]]]]


def config_dir(config_path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The directory of the config file (`--config`, else `$MCP_HUB_CONFIG`), else `$XDG_CONFIG_HOME/mcp-hub`."""
    env = os.environ if env is None else env
    path = config_path or env.get("MCP_HUB_CONFIG")
    if path:
        return Path(path).expanduser().resolve().parent
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mcp-hub"


class DefinitionFile:
    """One of the two JSON files, read through a cache keyed by the file's identity and mtime."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cached: tuple[tuple[int, int, int], Servers] | None = None

    def read(self) -> Servers:
        """The servers' entries; `{}` when the file does not exist. `ConfigError` when it cannot be read."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1]
        servers = self._parse()
        self._cached = (key, servers)
        return servers

    def _parse(self) -> Servers:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{self.path} is not valid JSON ({exc}); fix it or restore it from version control"
            ) from None
        if not isinstance(raw, dict) or raw.get("version") != VERSION or not isinstance(raw.get("servers"), dict):
            raise ConfigError(f"{self.path}: not a version-{VERSION} definitions file (no 'version'/'servers')")
        servers: Servers = raw["servers"]
        for server, kinds in servers.items():
            if not isinstance(kinds, dict) or any(k not in KINDS or not isinstance(v, dict) for k, v in kinds.items()):
                raise ConfigError(f"{self.path}: servers.{server} must map {', '.join(KINDS)} to entries")
            for kind, entries in kinds.items():
                for name, entry in entries.items():
                    if not (
                        isinstance(entry, dict)
                        and isinstance(entry.get("sha256"), str)
                        and isinstance(entry.get("definition"), dict)
                    ):
                        raise ConfigError(f"{self.path}: servers.{server}.{kind}.{name} needs sha256 and definition")
        return servers

    def update(self, change: Callable[[Servers], None]) -> Servers:
        """Read the file afresh under an exclusive lock, apply `change`, write it back atomically."""
        with self._exclusive():
            self._cached = None
            servers: Servers = json.loads(json.dumps(self.read()))  # a private copy: the cache is shared
            change(servers)
            self._write(servers)
            self._cached = None
            return servers

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path.with_name(self.path.name + ".lock"), "a")  # noqa: SIM115 (held for the block)
        except OSError as exc:
            raise ConfigError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _write(self, servers: Servers) -> None:
        document = {"//": _COMMENT, "servers": servers, "version": VERSION}
        text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text + "\n")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise ConfigError(f"cannot write {self.path}: {exc.strerror or exc}") from None


def lock_file(directory: Path) -> DefinitionFile:
    return DefinitionFile(directory / LOCK_NAME)


def seen_file(directory: Path) -> DefinitionFile:
    return DefinitionFile(directory / SEEN_NAME)
