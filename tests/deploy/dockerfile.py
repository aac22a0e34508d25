"""Read deploy/Dockerfile: its stages and instructions, and lint it (no Docker engine nor hadolint here).

`lint` checks the rules that matter for this image, each one a reason a rebuild could differ or a
container could do more than it should: every base pinned by digest (never `latest`), pip never
caching and never installing from the index without the lock's hashes, the lock copied and
installed before the source (so a source change does not reinstall the dependencies), no `ADD`,
and a last stage that runs as a numeric non-root user.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from tests.deploy.manifests import DEPLOY

DOCKERFILE = DEPLOY / "Dockerfile"
#: Where the lock's exports live; the source is everything the build stage copies besides them.
LOCK_DIR = "deploy/requirements/"
SOURCE = ("pyproject.toml", "mcp_hub", "connectors", "model")
DIGEST = re.compile(r"^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]

    def env(self) -> dict[str, str]:
        """ENV KEY=VALUE pairs, `$PATH`-style references left as written."""
        out: dict[str, str] = {}
        for arg in self.all("ENV"):
            for pair in shlex.split(arg):
                key, _, value = pair.partition("=")
                out[key] = value
        return out

    def exec_form(self, keyword: str) -> list[str]:
        (arg,) = self.all(keyword)
        parsed: list[str] = json.loads(arg)
        return parsed


def _lines(text: str) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", text)  # join continuation lines
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arg = line.partition(" ")
        out.append((keyword.upper(), " ".join(arg.split())))
    return out


def global_args(path: Path = DOCKERFILE, text: str | None = None) -> dict[str, str]:
    """The ARGs declared before the first FROM, with their defaults (what `${NAME}` in a FROM means)."""
    out: dict[str, str] = {}
    for keyword, arg in _lines(path.read_text() if text is None else text):
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = arg.partition("=")
            out[name] = default
    return out


def stages(path: Path = DOCKERFILE, text: str | None = None) -> list[Stage]:
    out: list[Stage] = []
    for keyword, arg in _lines(path.read_text() if text is None else text):
        if keyword == "FROM":
            parts = arg.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else str(len(out))
            out.append(Stage(name, parts[0]))
        elif out:
            out[-1].instructions.append((keyword, arg))
    return out


def _pip_installs(run: str) -> list[str]:
    """Each `pip install …` command inside one RUN (split on the shell's `&&`, `;`, `||`)."""
    return [part.strip() for part in re.split(r"&&|\|\||;", run) if re.search(r"\bpip3? install\b", part)]


def lint(text: str) -> list[str]:
    """The rules broken by a Dockerfile's text, as messages (empty: clean)."""
    problems: list[str] = []
    args = global_args(text=text)
    all_stages = stages(text=text)
    names: set[str] = set()
    for stage in all_stages:
        base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m[1] or m[2], m[0]), stage.base)
        if base in names:
            pass  # FROM an earlier stage
        elif not DIGEST.match(base):
            problems.append(f"stage {stage.name}: base {base!r} is not pinned as name:tag@sha256:<digest>")
        if re.search(r":latest\b", base) or base.split("@")[0].rsplit("/", 1)[-1].find(":") < 0:
            problems.append(f"stage {stage.name}: base {base!r} uses latest (or no tag)")
        names.add(stage.name)
        if stage.all("ADD"):
            problems.append(f"stage {stage.name}: ADD (use COPY; ADD fetches URLs and unpacks archives)")
        for run in stage.all("RUN"):
            for pip in _pip_installs(run):
                if "--no-cache-dir" not in pip.split():
                    problems.append(f"stage {stage.name}: `{pip}` without --no-cache-dir")
                words = pip.split()
                if "--no-index" not in words and not ("--require-hashes" in words and "-r" in words):
                    problems.append(
                        f"stage {stage.name}: `{pip}` installs from the index without --require-hashes -r <lock>"
                    )
    if not all_stages:
        return [*problems, "no FROM"]
    last = all_stages[-1]
    users = [kw_arg for kw, kw_arg in last.instructions if kw == "USER"]
    if not users:
        problems.append("the last stage has no USER: the container would run as root")
    else:
        user = users[-1].split(":")[0]
        if not user.isdigit() or int(user) == 0:
            problems.append(f"USER {users[-1]!r}: use a numeric non-root uid (runAsNonRoot can only check numbers)")
    problems += _layer_order(all_stages)
    return problems


def _layer_order(all_stages: list[Stage]) -> list[str]:
    """The lock is copied and installed before any source is copied, in the stage that installs."""
    for stage in all_stages:
        copies = [(i, arg) for i, (kw, arg) in enumerate(stage.instructions) if kw == "COPY"]
        lock = [i for i, arg in copies if arg.split()[0] == LOCK_DIR]
        if not lock:
            continue
        source = [i for i, arg in copies if any(s.split("/")[0] in SOURCE for s in arg.split()[:-1])]
        installs = [
            i
            for i, (kw, arg) in enumerate(stage.instructions)
            if kw == "RUN" and any("--require-hashes" in p for p in _pip_installs(arg))
        ]
        if not source:
            return []
        if not installs or not lock[0] < installs[0] < min(source):
            return [f"stage {stage.name}: copy {LOCK_DIR} and install it before copying the source (layer cache)"]
        return []
    return [f"no stage copies the lock's exports ({LOCK_DIR})"]
