"""Which change a URL names: a GitHub pull request or a GitLab merge request (any host)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from model.review.hubcalls import ReviewError

_GITHUB = re.compile(r"^/(?P<owner>[^/]+)/(?P<repo>[^/]+)/pulls?/(?P<number>\d+)(?:/.*)?$")
_GITLAB = re.compile(r"^/(?P<project>.+?)/-/merge_requests/(?P<number>\d+)(?:/.*)?$")


@dataclass(frozen=True)
class Target:
    forge: Literal["github", "gitlab"]
    #: `owner/repo` on GitHub, the project's full path on GitLab.
    repo: str
    number: int
    host: str
    url: str

    @property
    def label(self) -> str:
        return f"{self.repo}#{self.number}" if self.forge == "github" else f"{self.repo}!{self.number}"


def parse_target(url: str) -> Target:
    """`https://github.com/o/r/pull/7`, a GHES host, or `https://gitlab.example.com/g/sub/p/-/merge_requests/7`."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ReviewError(f"{url!r} is not a pull or merge request URL (https://HOST/OWNER/REPO/pull/N)")
    path = unquote(parts.path).rstrip("/")
    gitlab = _GITLAB.match(path)
    if gitlab:
        return Target("gitlab", gitlab["project"], int(gitlab["number"]), parts.netloc, url)
    github = _GITHUB.match(path)
    if github:
        return Target("github", f"{github['owner']}/{github['repo']}", int(github["number"]), parts.netloc, url)
    raise ReviewError(
        f"{url!r} names neither a GitHub pull request (…/OWNER/REPO/pull/N) "
        "nor a GitLab merge request (…/GROUP/PROJECT/-/merge_requests/N)"
    )
