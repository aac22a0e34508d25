"""The request guard: every outgoing request, normalised, checked against the instance's `Scope`.

It runs at the transport the SDK really uses (for `requests`-based SDKs the
session's adapter, see `transport_requests.py`), after the SDK has built the
final URL, so no argument, pagination link or redirect reaches the network
without passing it. A refused request raises `PolicyDenied` (kind `denied`:
the tool call is audited with that outcome, and a warning is logged) and is
never sent.

Normalisation is deliberately stricter than any server: a URL is refused when
a server could read it in more than one way. The path is percent-decoded
repeatedly until it stops changing, and refused when any form of it (each
decoding, and its Unicode NFKC form) has a `.` or `..` segment, a backslash,
a control character, a `?` or `#`, an empty segment before the end, a decoded
`/` inside a segment (the segment count changed), or bytes that are not UTF-8.
Hosts are compared lower case without a trailing dot; user info in a URL,
other schemes and fragments are refused. What is left is matched, decoded,
against the scope's routes.

Services that take a whole path as ONE encoded segment (GitLab's `projects/group%2Fsub%2Fname`,
`repository/files/src%2Fa.py`) set `Scope.encoded_slashes`: each raw segment is then decoded on
its own, an encoded `/` inside it is allowed, and every piece between those slashes gets the same
checks (no `.`/`..` pieces, no empty piece, no backslash, control character, `?` or `#`, in every
decoding and its NFKC form); a segment encoded more than once is refused (the service decodes once,
so a second reading would differ). The routes then see each segment in a canonical form in which
only `%` and `/` are escaped (`group%2Fsub%2Fname`), and a route's `key` is given to the scope
decoded (`group/sub/name`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import parse_qs, unquote, urlsplit

from mcp_hub.errors import PolicyDenied
from mcp_hub.upstream.scope import Route, Scope, Target

log = logging.getLogger(__name__)

#: Decoding rounds after which a still-changing path is refused (`%25252e…`).
MAX_DECODINGS = 4
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Refused(Exception):
    """Why a URL cannot be read one way only (raised by `normalise`)."""


@dataclass(frozen=True, slots=True)
class NormalisedURL:
    scheme: str
    host: str
    port: int
    #: Decoded path segments (the leading empty one dropped; a trailing "" for a trailing slash).
    segments: tuple[str, ...]
    query: dict[str, list[str]]

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


def _bad_chars(text: str) -> str | None:
    for char in text:
        code = ord(char)
        if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            return "a control character"
        if char == "\\":
            return "a backslash"
    return None


def _decodings(raw: str) -> list[str]:
    """`raw` and each successive percent-decoding of it, until it stops changing."""
    forms = [raw]
    for _ in range(MAX_DECODINGS):
        decoded = unquote(forms[-1], errors="strict") if "%" in forms[-1] else forms[-1]
        if decoded == forms[-1]:
            return forms
        forms.append(decoded)
    raise Refused("its path is percent-encoded too many times over")


def _check_segments(segments: list[str]) -> None:
    for index, segment in enumerate(segments):
        if segment in (".", ".."):
            raise Refused("its path has a '.' or '..' segment")
        if segment == "" and index != len(segments) - 1:
            raise Refused("its path has an empty segment ('//')")
        if "?" in segment or "#" in segment:
            raise Refused("its path has an encoded '?' or '#'")


def _encoded_segments(raw_path: str) -> tuple[str, ...]:
    """Segments of `raw_path` decoded one by one (an encoded `/` kept inside), canonical form: see the module doc."""
    raws = raw_path.split("/")[1:]
    canonical = []
    for index, raw in enumerate(raws):
        try:
            forms = _decodings(raw)
        except UnicodeDecodeError:
            raise Refused("its path decodes to bytes that are not UTF-8") from None
        if len(forms) > 2:
            raise Refused("a segment of its path is percent-encoded more than once")
        if raw == "" and index != len(raws) - 1:
            raise Refused("its path has an empty segment ('//')")
        for form in forms + [unicodedata.normalize("NFKC", form) for form in forms]:
            bad = _bad_chars(form)
            if bad:
                raise Refused(f"its path decodes to {bad}")
            if form:
                _check_segments([*form.split("/"), ""])  # every piece is then "not last": none may be empty
        canonical.append(forms[-1].replace("%", "%25").replace("/", "%2F"))
    return tuple(canonical)


def normalise(url: str, *, encoded_slashes: bool = False) -> NormalisedURL:
    """The one reading of `url`, or `Refused` when there could be another (see the module doc)."""
    bad = _bad_chars(url)
    if bad:
        raise Refused(f"it contains {bad}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("it is not a well-formed URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise Refused(f"its scheme {scheme or '(none)'!r} is not http(s)")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise Refused("it carries user info")
    if parts.fragment:
        raise Refused("it has a fragment")
    host = (parts.hostname or "").rstrip(".")
    if not host or not host.isascii() or "%" in host:
        raise Refused("its host is missing or not plain ASCII")
    raw_path = parts.path or "/"
    if not raw_path.startswith("/"):
        raise Refused("its path is not absolute")
    if encoded_slashes:
        query = parse_qs(parts.query, keep_blank_values=True)
        return NormalisedURL(scheme, host.lower(), port or _DEFAULT_PORTS[scheme], _encoded_segments(raw_path), query)
    try:
        forms = _decodings(raw_path)
    except UnicodeDecodeError:
        raise Refused("its path decodes to bytes that are not UTF-8") from None
    raw_count = raw_path.count("/")
    final_forms = forms + [unicodedata.normalize("NFKC", form) for form in forms]
    for form in final_forms:
        bad = _bad_chars(form)
        if bad:
            raise Refused(f"its path decodes to {bad}")
        if form.count("/") != raw_count:
            raise Refused("its path decodes to a different number of segments (an encoded '/')")
        _check_segments(form.split("/")[1:])
    query = parse_qs(parts.query, keep_blank_values=True)
    return NormalisedURL(scheme, host.lower(), port or _DEFAULT_PORTS[scheme], tuple(forms[-1].split("/")[1:]), query)


class RequestGuard:
    """Checks requests against one `Scope`; thread-safe (it holds no mutable state but a counter)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        base = normalise(scope.base_url.rstrip("/") + "/")
        self._origin = base.origin
        self._base_segments = tuple(s for s in base.segments if s)
        #: How many requests this guard refused (for tests and diagnostics).
        self.refused = 0

    @property
    def origin(self) -> tuple[str, str, int]:
        """(scheme, host, port) of the scope's base URL."""
        return self._origin

    @property
    def base_segments(self) -> tuple[str, ...]:
        """The base URL's path segments (requests must start with them)."""
        return self._base_segments

    def check(self, method: str, url: str, *, redirect_from: Target | None = None, body: bytes | None = None) -> Target:
        """The `Target` of an allowed request; `PolicyDenied` (nothing is sent) otherwise.

        `body` is the request body as sent, for routes that check it (the requests hook passes it)."""
        method = method.upper()
        try:
            target = self._check(method, url, redirect_from, body)
        except Refused as exc:
            raise self.refuse(method, url, str(exc)) from None
        return target

    def refuse(self, method: str, url: str, reason: str) -> PolicyDenied:
        """Count, log (method and path, never the query) and word a refusal; the caller raises it.

        For hooks that check more than the URL (a request body, as the aiohttp hook does).
        """
        self.refused += 1
        where = _safe(url)
        log.warning("%s: refused %s %s before sending: %s", self.scope.service, method.upper(), where, reason)
        return PolicyDenied(
            f"the hub refused to send {method.upper()} {where} to {self.scope.service}: {reason}. Requests are limited "
            f"to {self.scope.allow_list_name}; fix the arguments (plain names, no '..', '%', '\\\\', '?' or '#')."
        )

    def _check(self, method: str, url: str, redirect_from: Target | None, body: bytes | None = None) -> Target:
        found = normalise(url, encoded_slashes=self.scope.encoded_slashes)
        segments = found.segments
        base = self._base_segments
        if found.origin == self._origin and redirect_from is None:
            absolute = "/" + "/".join(segments)
            for route in self.scope.host_routes:
                match = route.regex.fullmatch(absolute)
                if match is not None:
                    return self._target(route, match, method, url, absolute, found, body)
        in_api = found.origin == self._origin and segments[: len(base)] == base
        if not in_api:
            same_host = found.origin == self._origin
            other_ok = found.scheme == "https" and any(fnmatchcase(found.host, p) for p in self.scope.redirect_hosts)
            if redirect_from is not None and method == "GET" and (same_host or other_ok):
                return Target(
                    self.scope.service,
                    method,
                    url,
                    "/" + "/".join(segments),
                    "redirect",
                    redirect_from.key,
                    redirect_from.resource,
                    redirected=True,
                )
            raise Refused(f"{found.host} and its path are outside {self.scope.service}'s API at {self.scope.base_url}")
        path = "/" + "/".join(segments[len(base) :])
        for route in self.scope.routes:
            match = route.regex.fullmatch(path)
            if match is not None:
                return self._target(route, match, method, url, path, found, body)
        raise Refused(f"{path[:120]} is not an endpoint this connector uses")

    def _target(
        self,
        route: Route,
        match: re.Match[str],
        method: str,
        url: str,
        path: str,
        found: NormalisedURL,
        body: bytes | None,
    ) -> Target:
        if method not in route.methods:
            raise Refused(f"{method} is not used on {route.name}")
        key = match.groupdict().get("key")
        if key is not None and self.scope.encoded_slashes:
            key = unquote(key)
        if route.body is not None:
            if body is None:
                raise Refused(f"{route.name} requests are checked by their body, and none was seen")
            reason, key = route.body(body)
            if reason:
                raise Refused(reason)
            if key is None:
                raise Refused(f"the {route.name} request addresses nothing on {self.scope.allow_list_name}")
        if key is not None and not self.scope.allows(key):
            raise Refused(f"{key} is not on {self.scope.allow_list_name}")
        if route.query is not None:
            reason = route.query(found.query)
            if reason:
                raise Refused(reason)
        if route.resource is not None:
            resource = route.resource(match)
        else:  # a body-checked route addresses its key, whatever its URL
            resource = f"{key}/{route.name}" if route.body is not None else path.lstrip("/")
        return Target(self.scope.service, method, url, path, route.name, key, resource)


def _safe(url: str) -> str:
    """The URL's path for messages (no query: signed URLs carry signatures), cut to 200 characters."""
    try:
        path = urlsplit(url).path
    except ValueError:
        path = "(malformed URL)"
    return path[:200] + ("…" if len(path) > 200 else "")
