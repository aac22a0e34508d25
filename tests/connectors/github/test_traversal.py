"""Issue 18: no argument of any GitHub tool walks out of the allow-listed repository, writes allowed.

The fake records every request before routing and serves it the way a lenient server would
(decoded, backslashes as slashes, dot segments resolved), so an escape would really reach
`acme/secret` (private) or `other/elsewhere` and show in its log. Tools and their string
arguments come from the live catalog: a new tool is attacked without touching this file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal
from hypothesis import given
from hypothesis import strategies as st
from mcp import Client

from connectors.github import GithubConnector, GithubSettings
from mcp_hub.connector import ConnectorContext
from mcp_hub.errors import PolicyDenied
from mcp_hub.redaction import Redactor
from mcp_hub.server import HubServer
from tests.connectors.github.contract import Contract
from tests.connectors.github.fake_app import FakeGithub
from tests.connectors.github.fake_state import PAT
from tests.support import hostile

portal = hostile.portal  # the shared fixtures (this module provides `hub`)
session = hostile.session
slots_of = hostile.slots_of

ALLOWED = "acme/widgets"
SECRET = "acme/secret"
OTHERS = [SECRET, "other/elsewhere"]
_QUALIFIER = re.compile(r"^-?(repo|user|org|owner):(.+)$", re.I)

#: Values that pass for the arguments not under attack (the rest are built from each tool's schema).
VALID: dict[str, Any] = {
    "repo": ALLOWED,
    "number": 1,
    "path": "README.md",
    "ref": "main",
    "sha": "main",
    "base": "main",
    "head": "feature-x",
    "branch": "feature-x",
    "query": "widgets",
    "comment_id": 702,
    "run_id": 900,
    "job_id": 9001,
    "body": "x",
    "title": "t",
    "message": "m",
    "labels": ["bug"],
    "line": 10,
}
#: Where the common values would fail for reasons of their own (a branch that exists, a stale head).
VALID_FOR: dict[str, dict[str, Any]] = {
    "github_create_branch": {"branch": "probe-branch"},
    "github_put_file": {"path": "docs/probe.txt", "branch": "main"},
    "github_merge_pull_request": {"number": 5, "sha": None},
    "github_reply_to_review_comment": {"comment_id": 901},
    "github_create_check_run": {"head_sha": "0" * 40, "name": "probe", "summary": "s"},
    "github_resolve_review_thread": {"comment_id": 902},
}


def out_of_scope(wire: hostile.Wire) -> str | None:
    path = wire.path
    if path.startswith("/api/blobs/logs/"):
        return None  # a job log's storage, reached by a redirect from an allowed repository
    if not path.startswith("/api/v3/"):
        return "outside GitHub's API"
    rel = path.removeprefix("/api/v3")
    if rel == "/user":
        return None
    if rel in ("/search/issues", "/search/code"):
        for q in wire.query.get("q", []):
            for word in q.split():
                found = _QUALIFIER.match(word.strip("\"'()"))
                if found and not word.startswith("-") and not _allowed_qualifier(found[1], found[2]):
                    return f"a search for {word}"
        return None
    key = request_key(wire)
    if key is None:
        return "not an endpoint of the connector"
    return None if key.lower() == ALLOWED else f"repository {key}"


def _allowed_qualifier(kind: str, value: str) -> bool:
    return kind.lower() == "repo" and value.lower() == ALLOWED


def request_key(wire: hostile.Wire) -> str | None:
    found = re.match(r"^/api/v3/repos/([^/]+)/([^/]+)(?:/|$)", wire.path)
    return f"{found[1]}/{found[2]}" if found else None


def label_key(resource: str) -> str | None:
    parts = resource.removeprefix("github://").split("/")
    return None if parts[0] in ("search", "user") or len(parts) < 2 else f"{parts[0]}/{parts[1]}"


def exposure(fake: FakeGithub) -> hostile.Exposure:
    def key_of(wire: hostile.Wire) -> str | None:
        # A GraphQL request's URL says nothing: the fake notes which repository its body addressed.
        return fake.state.graphql_keys.get(id(wire)) if wire.path == "/api/graphql" else request_key(wire)

    def scope_of(wire: hostile.Wire) -> str | None:
        if wire.path != "/api/graphql":
            return out_of_scope(wire)
        key = key_of(wire)
        return None if key is not None and key.lower() == ALLOWED else f"a GraphQL body addressing {key}"

    return hostile.Exposure(
        wire=lambda: fake.state.wire,
        out_of_scope=scope_of,
        request_key=key_of,
        label_key=label_key,
        allowed=lambda key: key.lower() == ALLOWED,
        valid=VALID,
        valid_for=VALID_FOR,
        others=OTHERS,
        visibility=lambda key: fake.state.repos[key].visibility if key in fake.state.repos else "?",
    )


@pytest.fixture
def hub(make_hub: Callable[..., HubServer], fake: FakeGithub, contract: Contract) -> Iterator[HubServer]:
    yield make_hub({"MCP_HUB_GITHUB__REPOS": ALLOWED}, writes=True)
    # Hostile values in query parameters and bodies (a NUL in a label, an empty filter) are sent on purpose:
    # the description's checks of them are not this test's subject; where requests went is.
    contract.take()


def test_the_traversal_family_never_leaves_the_allow_list(
    portal: BlockingPortal, session: Client, fake: FakeGithub
) -> None:
    seen = exposure(fake)
    fake.state.checks_need_app = False  # check runs need an App on GitHub; here only where requests go matters
    # one spelling per mechanism here; the whole family and random hostile.compositions in the next test
    probed = portal.call(hostile.probe_all, session, seen, hostile.hostile_values(OTHERS, hostile.CORE))
    assert not seen.problems, "\n".join(seen.problems[:30])
    # every tool with a string argument was attacked, writes included, and the attack reached the network
    tools = {slot.tool for slot in probed}
    assert {"github_get_contents", "github_put_file", "github_commit_files", "github_add_issue_comment"} <= tools
    assert "github_create_pull_request_review" in tools and any(slot.where[-1] == "path" for slot in probed)
    assert len(fake.state.wire) > 100
    failed = sorted(tool for tool, ok in seen.controls.items() if not ok)
    assert failed == [], failed  # valid calls get through: the probes are not all refused for other reasons
    assert not [w for w in fake.state.wire if w.path.startswith(("/api/v3/repos/acme/secret", "/api/v3/repos/other/"))]


@pytest.fixture
def exposed(fake: FakeGithub) -> Callable[[], hostile.Exposure]:
    return lambda: exposure(fake)


@hostile.compositions(300)
@given(data=st.data())
def test_random_compositions_never_leave_the_allow_list(
    portal: BlockingPortal,
    session: Client,
    exposed: Callable[[], hostile.Exposure],
    slots_of: list[hostile.Slot],
    data: st.DataObject,
) -> None:
    hostile.probe_drawn(portal, session, exposed(), slots_of, data, hostile.hostile_text(OTHERS))


# -- the reported attack, spelled out ---------------------------------------------------------------


ATTACKS = [
    ("github_get_contents", {"repo": ALLOWED, "path": "../../acme/secret/contents/keys.txt"}),
    ("github_get_contents", {"repo": ALLOWED, "path": "src/../../../../acme/secret/contents/keys.txt"}),
    ("github_get_contents", {"repo": ALLOWED, "path": "%2e%2e/%2e%2e/acme/secret/contents/keys.txt"}),
    ("github_get_contents", {"repo": ALLOWED, "path": "..%2f..%2facme%2fsecret%2fcontents%2fkeys.txt"}),
    ("github_get_commit", {"repo": ALLOWED, "sha": "../../acme/secret/commits/main"}),
    ("github_compare_refs", {"repo": ALLOWED, "base": "../../../acme/secret/compare/main", "head": "main"}),
    ("github_put_file", {"repo": ALLOWED, "path": "../../acme/secret/contents/pwned.txt", "content": "x",
                         "message": "m", "branch": "main"}),
    ("github_create_branch", {"repo": ALLOWED, "branch": "x",
                              "from_branch": "../../../../acme/secret/git/ref/heads/main"}),
    ("github_list_issues", {"repo": "acme/widgets/../secret"}),
    ("github_search_code", {"query": "keys repo:acme/secret"}),
    ("github_search_issues", {"query": "x user:acme"}),
]  # fmt: skip


@pytest.mark.anyio
@pytest.mark.parametrize(("tool", "arguments"), ATTACKS, ids=[f"{t}-{i}" for i, (t, _) in enumerate(ATTACKS)])
async def test_the_reported_attack_is_refused_before_anything_is_sent(
    hub: HubServer, fake: FakeGithub, tool: str, arguments: dict[str, Any]
) -> None:
    async with Client(hub) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert (result.meta or {}).get("mcp_hub/error") in ("invalid_input", "denied", None)  # None: schema refusal
    assert not [w for w in fake.state.wire if out_of_scope(w)], fake.state.wire


@pytest.mark.anyio
async def test_the_guard_alone_stops_what_the_argument_checks_would_let_through(api: str, fake: FakeGithub) -> None:
    """Past the tools' checks (a bug in one, a new tool that forgets them), the transport still refuses."""
    settings = GithubSettings(token=PAT, base_url=api, repos=[ALLOWED], retry_base_delay_s=0)
    connector = GithubConnector("default", settings, ConnectorContext(Redactor()))
    client = connector.client
    for path in [
        "/repos/acme/widgets/contents/../../../acme/secret/contents/keys.txt",
        "/repos/acme/widgets/contents/%2e%2e/%2e%2e/%2e%2e/acme/secret/contents/keys.txt",
        "/repos/acme/widgets/contents/%252e%252e/x",
        "/repos/acme/widgets/contents/..%5c..%5c..%5cacme/secret",
        "/repos/acme/secret/contents/keys.txt",
        "/orgs/acme/repos",
    ]:
        with pytest.raises(PolicyDenied):
            await client.get(path, what="probe")
    for verb in ("POST", "PUT"):
        with pytest.raises(PolicyDenied):
            await client.request(verb, "/repos/acme/widgets/contents/../../secret/issues", what="p", body={})
    assert client.guard.refused == 8
    assert fake.state.wire == []
    # and what is allowed is answered with the request it came from
    response = await client.get("/repos/acme/widgets/contents/README.md", what="readme")
    assert response.target.uri == "github://acme/widgets/contents/README.md"
    assert [w.path for w in fake.state.wire] == ["/api/v3/repos/acme/widgets/contents/README.md"]
    client.close()
