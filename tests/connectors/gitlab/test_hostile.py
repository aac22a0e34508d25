"""Issue 18: no argument of any GitLab tool walks out of the allow-listed project, writes allowed.

Uses the kit's `tests/support/hostile.py`: tools and their string arguments (nested ones included)
come from the live catalog, so a new tool is attacked without touching this file. The instance may
use only `acme/app` (id 1); `acme/internal-tools` (id 2, private) and `other/thing` (id 3) are the
targets. The fake records every request before routing and resolves dot segments the way a lenient
proxy would, so an escape would really land on another project and show in its log. GitLab's own
spellings are in the family too: numeric ids, `group%2Fname`, encoded slashes inside a file path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest
from anyio.from_thread import BlockingPortal
from hypothesis import given
from hypothesis import strategies as st
from mcp import Client

from mcp_hub.server import HubServer
from tests.connectors.gitlab.conftest import Fake, Make
from tests.support import hostile

portal = hostile.portal  # the shared fixtures (this module provides `hub`)
session = hostile.session
slots_of = hostile.slots_of

ALLOWED = "acme/app"
OTHERS = ["acme/internal-tools", "other/thing", "2"]
#: GitLab's own ways of naming another project or walking out of a path (one encoded segment).
GITLAB_FAMILY = [
    "3",
    "ACME/Internal-Tools",
    "acme%2Finternal-tools",
    "acme/app%2F..%2Finternal-tools",
    "1/../2",
    "1%2F..%2F2",
    "a%2F..%2F..%2Fsecret",
    "..%252F..%252F",
    "/etc/passwd",
    "src/../../../../projects/2/repository/files/run.sh",
    "../../../2/issues",
]
ACCOUNT = ("user", "users", "projects")
#: Values that pass for the arguments not under attack (the rest are built from each tool's schema).
VALID: dict[str, Any] = {
    "project": ALLOWED,
    "iid": 1,
    "path": "README.md",
    "ref": "main",
    "sha": "main",
    "base": "main",
    "head": "fix",
    "branch": "bot/x",
    "source": "feature",
    "query": "x",
    "body": "x",
    "title": "t",
    "message": "m",
    "pipeline_id": 902,
    "job_id": 9021,
    "comment_id": 1,
    "discussion_id": "abc",
    "line": 10,
}


def _segments(wire: hostile.Wire) -> list[str]:
    return wire.raw_path.split("?")[0].removeprefix("/api/v4/").split("/")


def exposure(fake: Fake) -> hostile.Exposure:
    state = fake.state

    def project_of(key: str) -> str | None:
        found = state.project(unquote(key))
        return found.path if found is not None else None

    def request_key(wire: hostile.Wire) -> str | None:
        segments = _segments(wire)
        if segments[0] != "projects" or len(segments) < 2:
            return None
        return project_of(segments[1]) or unquote(segments[1])

    def out_of_scope(wire: hostile.Wire) -> str | None:
        if not wire.raw_path.startswith("/api/v4/"):
            return "outside GitLab's API"
        segments = _segments(wire)
        for segment in segments:
            for form in (segment, unquote(segment), unquote(unquote(segment))):
                if {".", ".."} & set(form.replace("\\", "/").split("/")):
                    return "a dot segment or piece"
        for key in ("ref", "ref_name", "from", "to", "path"):
            if any(".." in value for value in wire.query.get(key, [])):
                return f"a '..' in {key}"
        if len(segments) == 1 and segments[0] in ACCOUNT:
            return None
        key = request_key(wire)
        if key is None:
            return "not an endpoint of the connector"
        return None if key.lower() == ALLOWED else f"project {key}"

    def label_key(resource: str) -> str | None:
        rest = resource.removeprefix("gitlab://")
        if rest in ACCOUNT:
            return None
        paths = sorted((p.path for p in state.projects.values()), key=len, reverse=True)
        return next((p for p in paths if rest == p or rest.startswith(p + "/")), rest)

    def visibility(key: str) -> str:
        found = state.project(key)
        return found.visibility if found is not None else "?"

    return hostile.Exposure(
        wire=lambda: state.wire,
        out_of_scope=out_of_scope,
        request_key=request_key,
        label_key=label_key,
        allowed=lambda key: key.lower() == ALLOWED,
        valid=VALID,
        others=OTHERS,
        visibility=visibility,
    )


@pytest.fixture
def hub(make_hub: Make) -> HubServer:
    return make_hub({"MCP_HUB_GITLAB__PROJECTS": ALLOWED}, writes=True)


def test_the_traversal_family_never_leaves_the_allow_list(portal: BlockingPortal, session: Client, fake: Fake) -> None:
    seen = exposure(fake)
    values = hostile.hostile_values(OTHERS[:1]) + GITLAB_FAMILY
    probed = portal.call(hostile.probe_all, session, seen, values)
    assert not seen.problems, "\n".join(seen.problems[:30])
    # every tool with a string argument was attacked, writes and nested arguments included
    tools = {slot.tool for slot in probed}
    assert {"gitlab_get_file", "gitlab_commit_files", "gitlab_merge_merge_request", "gitlab_add_issue_comment"} <= tools
    assert ("files", 0, "path") in {slot.where for slot in probed if slot.tool == "gitlab_commit_files"}
    assert ("comments", 0, "path") in {slot.where for slot in probed}
    assert len(fake.state.wire) > 100  # the attack reached the network where values were harmless
    assert not [w for w in fake.state.wire if request_key_other(w)]


def request_key_other(wire: hostile.Wire) -> bool:
    segments = _segments(wire)
    return segments[0] == "projects" and len(segments) > 1 and unquote(segments[1]).lower() not in ("1", ALLOWED)


@pytest.fixture
def exposed(fake: Fake) -> Callable[[], hostile.Exposure]:
    return lambda: exposure(fake)


@hostile.compositions(150)
@given(data=st.data())
def test_random_compositions_never_leave_the_allow_list(
    portal: BlockingPortal,
    session: Client,
    exposed: Callable[[], hostile.Exposure],
    slots_of: list[hostile.Slot],
    data: st.DataObject,
) -> None:
    values = hostile.hostile_text(OTHERS) | st.sampled_from(GITLAB_FAMILY)
    hostile.probe_drawn(portal, session, exposed(), slots_of, data, values)


@pytest.mark.parametrize(
    "raw",
    [
        "/api/v4/projects/2/issues",
        "/api/v4/projects/acme%2Finternal-tools",
        "/api/v4/projects/1/repository/files/a%2F..%2Fb",
        "/api/v4/projects/1/repository/files/a%252F..%252Fb",
        "/api/v4/projects/1/repository/tree?path=..%2F..",
        "/other",
    ],
)
def test_the_scope_predicate_sees_what_leaves_scope(fake: Fake, raw: str) -> None:
    path, _, query = raw.partition("?")
    wire = hostile.Wire("GET", path, path, parse_qs(query, keep_blank_values=True), "127.0.0.1")
    assert exposure(fake).out_of_scope(wire) is not None
