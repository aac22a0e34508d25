"""Which repository a `triage` argument names: `owner/name` (GitHub), `gitlab:group/project`, or a URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from mcp_hub.errors import InvalidInput

Forge = Literal["github", "gitlab"]
_GITHUB_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_GITLAB_PROJECT = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+$")


@dataclass(frozen=True)
class RepoRef:
    forge: Forge
    #: `owner/name` on GitHub, the project's full path on GitLab.
    path: str

    def issue(self, number: int) -> str:
        return f"{self.path}#{number}"

    def __str__(self) -> str:
        return self.path if self.forge == "github" else f"gitlab:{self.path}"


def parse_repo(text: str, forge: Forge | None = None) -> RepoRef:
    """`acme/widgets`, `gitlab:group/sub/project`, `https://github.com/acme/widgets`, or a GitLab project URL."""
    value = text.strip()
    if value.startswith(("http://", "https://")):
        parts = urlsplit(value)
        path = unquote(parts.path).strip("/").split("/-/", 1)[0].removesuffix(".git")
        if forge is None:
            forge = "github" if parts.netloc.lower() in ("github.com", "www.github.com") else None
            forge = forge or ("gitlab" if "gitlab" in parts.netloc.lower() else "github")
        value = path
    elif value.startswith(("gitlab:", "github:")):
        prefix, _, value = value.partition(":")
        forge = "gitlab" if prefix == "gitlab" else "github"
    forge = forge or "github"
    pattern = _GITHUB_REPO if forge == "github" else _GITLAB_PROJECT
    if not pattern.match(value):
        raise InvalidInput(
            f"{text!r} is not a repository: pass owner/name (GitHub), gitlab:group/project, or the repository's URL"
        )
    return RepoRef(forge, value)
