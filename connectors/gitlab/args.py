"""Argument types shared by the tools (each description costs tokens in every session: few and short).

Optional strings default to "" (meaning "not given") rather than None: a nullable
type costs an `anyOf` in every tool's schema.

Arguments that end up in a URL have a shape in the schema (the courtesy layer: a
clear `invalid_input` before anything is built) and are encoded here, never
pasted: a project path or a file path is ONE encoded segment for GitLab
(`group%2Fname`, `src%2Fa.py`), each of its parts checked by the kit's
`segments`. The request guard checks the URL actually sent either way.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from pydantic import Field

from mcp_hub.errors import InvalidInput
from mcp_hub.upstream import segments

#: A project: numeric id or `group/sub/name`: word parts joined by single '.' or '/' (so no '.'/'..' part).
PROJECT_PATTERN = r"^[\w-]+([./][\w-]+)*$"
#: A branch, tag or sha: the same shape with '@' and '+' (no '..', no part starting or ending with '.').
REF_PATTERN = r"^([\w@+-]+([./][\w@+-]+)*)?$"
#: A path inside the repository: no backslash, '?', '#', '%' or control character (dot parts: `segments`).
PATH_PATTERN = r"^[^\\?#%\x00-\x1f]*$"

ProjectArg = Annotated[str, Field(description="group/name or numeric id", max_length=400, pattern=PROJECT_PATTERN)]
RefArg = Annotated[
    str, Field(description="branch, tag or sha; default branch if empty", max_length=250, pattern=REF_PATTERN)
]
Ref = Annotated[str, Field(min_length=1, max_length=250, pattern=REF_PATTERN)]
FilePath = Annotated[str, Field(max_length=1000, pattern=PATH_PATTERN)]
Cursor = Annotated[str, Field(max_length=4000)]
Iid = Annotated[int, Field(ge=1)]
#: Page size: the same name and bounds as GitHub's tools (`limit`); the next page keeps it (it is in the cursor).
Limit = Annotated[int, Field(ge=1, le=100)]
MaxTokens = Annotated[int, Field(description="token budget of this page", ge=500, le=60_000)]
Body = Annotated[str, Field(min_length=1, max_length=60_000)]
Labels = Annotated[tuple[Annotated[str, Field(max_length=255)], ...], Field(max_length=50)]
Users = Annotated[tuple[Annotated[str, Field(max_length=255)], ...], Field(description="usernames", max_length=50)]


def one_segment(value: str, *, what: str) -> str:
    """A slash-separated value (project path, file path, ref) as ONE encoded segment, each part checked."""
    encoded = segments.path(value, what=what, allow_empty=False)
    return encoded.replace("/", "%2F")


def plain_path(value: str, *, what: str = "path", allow_empty: bool = True) -> str:
    """A path inside the repository for a query or a body: checked part by part, returned plain, no edge slashes."""
    segments.path(value, what=what, allow_empty=allow_empty)
    return value.strip("/")


def project_key(value: str) -> str:
    """A `project` argument as the key of a lookup: a numeric id, or a path (lower case, checked)."""
    value = value.strip().strip("/")
    if not value:
        raise InvalidInput("project is empty: pass 'group/name' or a numeric id")
    if value.isdigit():
        return value
    if "/" not in value:
        raise InvalidInput(f"project {value[:100]!r} must be 'group/name' (the full path) or a numeric id")
    segments.path(value, what="project")
    return value.lower()


def project_segment(key: str) -> str:
    """A project key from `project_key` as the `:id` segment of `/projects/:id`."""
    return key if key.isdigit() else quote(key, safe="")


def ref_value(value: str, *, what: str = "ref") -> str:
    """A ref for a query or a body: refused with '..', an empty part, or what `segments` refuses in a part."""
    if ".." in value:
        raise InvalidInput(f"{what} {value[:100]!r} is not allowed: it has '..'.")
    if value:
        segments.path(value, what=what, allow_empty=False)
    return value
