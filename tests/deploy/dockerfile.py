"""Read deploy/Dockerfile: its stages and the runtime stage's instructions (no Docker engine here)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from tests.deploy.manifests import DEPLOY

DOCKERFILE = DEPLOY / "Dockerfile"


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


def stages(path: Path = DOCKERFILE) -> list[Stage]:
    text = re.sub(r"\\\n", " ", path.read_text())  # join continuation lines
    out: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arg = line.partition(" ")
        keyword = keyword.upper()
        arg = " ".join(arg.split())
        if keyword == "FROM":
            parts = arg.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else str(len(out))
            out.append(Stage(name, parts[0]))
        elif out:
            out[-1].instructions.append((keyword, arg))
    return out
