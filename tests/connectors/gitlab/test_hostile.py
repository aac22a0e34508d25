"""Hostile values in every string argument of every GitLab tool, taken from the live catalog, writes allowed.

The instance may use only `acme/app` (id 1). For each example the fake's raw request log must show no
request about another project and no dot piece anywhere (path, encoded path or ref), and a successful
result must be labelled with a resource it really came from (acme/app, or the account-level routes).

Written to switch to the kit's `tests/support/hostile.py` once it lands: `hostile_values`, `fill` and
`check_sent` are the three pieces that helper is meant to provide.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, unquote

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from tests.connectors.gitlab.conftest import Fake, Make
from tests.core.test_upstream_guard import HOSTILE_SEGMENTS

ALLOWED_KEYS = {"1", "acme/app"}
ACCOUNT_RESOURCES = {"gitlab://user", "gitlab://users", "gitlab://projects"}
#: GitLab's own spellings of "another project" and "outside this path".
GITLAB_FAMILY = [
    "2",
    "3",
    "acme/internal-tools",
    "ACME/Internal-Tools",
    "acme%2Finternal-tools",
    "acme/app/../internal-tools",
    "acme/app%2F..%2Finternal-tools",
    "1/../2",
    "1%2F..%2F2",
    "../2",
    "a%2F..%2F..%2Fsecret",
    "..%252F..%252F",
    "main/../../x",
    "/etc/passwd",
    "src/../../../../projects/2/repository/files/run.sh",
]
PREFIXES = ["", "acme/app/", "src/", "main/", "1/", "README.md/"]
#: Values a valid call needs, by argument name; anything else gets a plain value of its type.
VALID: dict[str, Any] = {
    "project": "acme/app",
    "iid": 1,
    "sha": "main",
    "from_ref": "main",
    "to_ref": "fix",
    "branch": "bot/x",
    "source": "feature",
    "pipeline_id": 902,
    "job_id": 9021,
    "note_id": 1,
    "discussion_id": "abc",
    "files": [{"path": "a.txt", "action": "create", "content": "x"}],
}


def hostile_values() -> st.SearchStrategy[str]:
    family = st.sampled_from(HOSTILE_SEGMENTS + GITLAB_FAMILY)
    glued = st.builds(lambda prefix, value: prefix + value, st.sampled_from(PREFIXES), family)
    pieces = st.sampled_from([*"./\\%2eEfF?#amp", "\x00", "\uff0e", "\uff0f", "%2e", "%2F", "%25"])
    return st.one_of(family, glued, st.lists(pieces, max_size=12).map("".join))


def fill(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments that make a valid call: the required ones, from `VALID` or plain values of their type."""
    plain = {"integer": 1, "string": "x", "array": [], "boolean": False}
    args = {}
    for name in schema.get("required", []):
        kind = schema["properties"][name].get("type", "string")
        args[name] = VALID.get(name, plain.get(kind, "x"))
    return args


def string_arguments(schema: dict[str, Any]) -> list[str]:
    return [n for n, p in schema.get("properties", {}).items() if p.get("type") == "string" and n != "instance"]


def _pieces(segment: str) -> Iterator[str]:
    for form in (segment, unquote(segment), unquote(unquote(segment))):
        yield from form.split("/")


def check_sent(sent: list[tuple[str, str, str]]) -> None:
    """No request about another project, no dot piece in any segment or repository query value."""
    for method, raw, query in sent:
        assert raw.startswith("/api/v4/"), (method, raw)
        segments = raw.removeprefix("/api/v4/").split("/")
        if segments[0] == "projects" and len(segments) > 1:
            assert unquote(segments[1]).lower() in ALLOWED_KEYS, (method, raw)
        for segment in segments:
            assert not {".", ".."} & set(_pieces(segment)), (method, raw)
        for key, values in parse_qs(query, keep_blank_values=True).items():
            if key in ("ref", "ref_name", "from", "to", "path"):
                assert all(".." not in value for value in values), (method, raw, query)


def check_label(result: Any) -> None:
    if result.is_error:
        return
    meta = (result.meta or {}).get("mcp_hub/provenance") or {}
    resource = meta.get("resource", "")
    ours = resource == "gitlab://acme/app" or resource.startswith("gitlab://acme/app/")
    assert ours or resource in ACCOUNT_RESOURCES, resource
    assert meta.get("visibility") == "public", meta


@pytest.fixture
def catalog(make_hub: Make) -> list[tuple[str, dict[str, Any]]]:
    async def tools() -> list[tuple[str, dict[str, Any]]]:
        async with Client(make_hub({"MCP_HUB_GITLAB__PROJECTS": "acme/app"}, writes=True)) as client:
            return [(t.name, t.input_schema) for t in (await client.list_tools()).tools if t.name.startswith("gitlab_")]

    return anyio.run(tools)


def test_the_catalog_has_string_arguments_to_attack(catalog: list[tuple[str, dict[str, Any]]]) -> None:
    attacked = {name for name, schema in catalog if string_arguments(schema)}
    assert len(catalog) >= 30 and {"gitlab_get_file", "gitlab_commit_files", "gitlab_merge_merge_request"} <= attacked


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_strings_never_leave_scope(
    data: st.DataObject, make_hub: Make, fake: Fake, catalog: list[tuple[str, dict[str, Any]]]
) -> None:
    hub = make_hub({"MCP_HUB_GITLAB__PROJECTS": "acme/app"}, writes=True)
    name, schema = data.draw(st.sampled_from([(n, s) for n, s in catalog if string_arguments(s)]), label="tool")
    argument = data.draw(st.sampled_from(string_arguments(schema)), label="argument")
    value = data.draw(hostile_values(), label="value")
    args = fill(schema) | {argument: value}
    start = len(fake.state.sent)

    async def one() -> Any:
        async with Client(hub) as client:
            return await client.call_tool(name, args)

    result = anyio.run(one)
    check_sent(fake.state.sent[start:])
    check_label(result)


@pytest.mark.parametrize(
    "sent",
    [
        [("GET", "/api/v4/projects/2/issues", "")],
        [("GET", "/api/v4/projects/acme%2Finternal-tools", "")],
        [("GET", "/api/v4/projects/1/repository/files/a%2F..%2Fb", "")],
        [("GET", "/api/v4/projects/1/repository/files/a%252F..%252Fb", "")],
        [("GET", "/api/v4/projects/1/repository/tree", "path=..%2F..")],
        [("GET", "/other", "")],
    ],
)
def test_the_checker_sees_what_leaves_scope(sent: list[tuple[str, str, str]]) -> None:
    with pytest.raises(AssertionError):
        check_sent(sent)
