"""Arguments that become URL path parts: checked by shape, then percent-encoded one segment at a time.

A tool never pastes an argument into a URL as is. `segment(value)` is for one
path part (an owner, a repository name, a ref, a SHA, an id); `path(value)` for
a slash-separated path inside a repository (each part checked and encoded on
its own, the slashes kept). Refused with a clear `InvalidInput`, before any
request is built: `.` and `..` parts, encoded dots (`%2e`, `%2E`, `%252e`, …)
and every other percent-encoding that decodes to something else, backslashes,
`?`, `#`, control characters (NUL included), look-alikes that Unicode NFKC
turns into one of these (`．．`, `／`), and empty parts.

This is the courtesy layer (a clear message for the model); the guarantee is
the request guard, which refuses the same things on the URL actually sent.

For the input schema, `SEGMENT_PATTERN` is the shape of one part (at least one
character other than `.`; no `/`, `\\`, `?`, `#`, `%` or controls), for a
`pydantic.Field(pattern=...)`.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, unquote

from mcp_hub.errors import InvalidInput

#: One path part in an input schema: not only dots, no separators, encodings or control characters.
SEGMENT_PATTERN = r"^[^/\\?#%\x00-\x1f\x7f]*[^./\\?#%\x00-\x1f\x7f][^/\\?#%\x00-\x1f\x7f]*$"
#: An `owner/name` pair whose parts are `SEGMENT_PATTERN`s.
PAIR_PATTERN = SEGMENT_PATTERN[:-1] + "/" + SEGMENT_PATTERN[1:]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _forms(value: str) -> list[str]:
    """The value, each percent-decoding of it, and the NFKC form of each."""
    forms = [value]
    for _ in range(4):
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    return forms + [unicodedata.normalize("NFKC", form) for form in forms]


def _problem(part: str, *, allow_slash: bool) -> str | None:
    for form in _forms(part):
        if _CONTROL.search(form):
            return "a control character"
        if "\\" in form:
            return "a backslash"
        if "?" in form or "#" in form:
            return "'?' or '#'"
        pieces = form.split("/") if allow_slash else [form]
        if not allow_slash and "/" in form:
            return "'/' (or an encoded one)"
        for piece in pieces:
            if piece in (".", ".."):
                return "a '.' or '..' part (or an encoded one)"
            if piece == "":
                return "an empty part"
    if part != unquote(part):
        return "a percent-encoding (give the plain text; the hub encodes it)"
    return None


def segment(value: str, *, what: str) -> str:
    """`value` as one encoded path segment; `InvalidInput` naming `what` when it is not one plain part."""
    problem = _problem(value, allow_slash=False)
    if problem:
        raise InvalidInput(f"{what} {value[:100]!r} is not allowed: it has {problem}.")
    return quote(value, safe="")


def path(value: str, *, what: str, allow_empty: bool = True) -> str:
    """A slash-separated path (leading/trailing slashes dropped), each part checked and encoded.

    The empty path ("" or "/") is the root when `allow_empty`.
    """
    stripped = value.strip("/")
    if not stripped:
        if allow_empty:
            return ""
        raise InvalidInput(f"{what} is empty.")
    for part in stripped.split("/"):
        problem = _problem(part, allow_slash=False)
        if problem:
            raise InvalidInput(f"{what} {value[:200]!r} is not allowed: a part of it has {problem}.")
    return "/".join(quote(part, safe="") for part in stripped.split("/"))


def pair(value: str, *, what: str) -> tuple[str, str]:
    """An `owner/name` pair, each part checked (not encoded: compare, then encode with `segment`)."""
    first, sep, second = value.strip().partition("/")
    if not sep:
        raise InvalidInput(f"{what} must be 'owner/name', got {value[:100]!r}.")
    for part in (first, second):
        problem = _problem(part, allow_slash=False)
        if problem:
            raise InvalidInput(f"{what} {value[:100]!r} is not allowed: a part of it has {problem}.")
    return first, second
