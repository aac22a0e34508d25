"""The fake speaks Drive v3 and Sheets v4 as their discovery documents describe; the connector imports lazily."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from typing import Any

import jsonschema
import pytest
from googleapiclient.discovery_cache import get_static_doc
from mcp import Client

from connectors.gdrive.query import quote, search_query
from mcp_hub.server import HubServer
from tests.connectors.gdrive.conftest import Seeded
from tests.connectors.gdrive.fake_query import QueryError, compile_query
from tests.connectors.gdrive.fake_state import FakeGoogle

METHODS = {
    "drive.files.list": ("drive", ["files", "list"]),
    "drive.files.get": ("drive", ["files", "get"]),
    "drive.files.create": ("drive", ["files", "create"]),
    "drive.files.update": ("drive", ["files", "update"]),
    "drive.comments.create": ("drive", ["comments", "create"]),
    "drive.permissions.create": ("drive", ["permissions", "create"]),
    "sheets.spreadsheets.get": ("sheets", ["spreadsheets", "get"]),
    "sheets.spreadsheets.values.get": ("sheets", ["spreadsheets", "values", "get"]),
}


def _strict(node: Any) -> Any:
    """A discovery schema as JSON Schema: refs into definitions, no properties beyond those described."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if not (k == "required" and isinstance(v, bool))}
    if isinstance(node.get("$ref"), str):
        return {"$ref": "#/definitions/" + node["$ref"]}
    if node.get("type") == "any":
        out.pop("type")
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


@cache
def validator(method_id: str) -> jsonschema.Draft7Validator:
    service, path = METHODS[method_id]
    document = json.loads(get_static_doc(service, "v4" if service == "sheets" else "v3"))
    node: Any = document
    for part in path[:-1]:
        node = node["resources"][part]
    method = node["methods"][path[-1]]
    schema = {"$ref": "#/definitions/" + method["response"]["$ref"], "definitions": _strict(document["schemas"])}
    return jsonschema.Draft7Validator(schema)


pytestmark = pytest.mark.anyio


async def test_fake_responses_follow_the_discovery_schemas(
    make_hub: Callable[..., HubServer], files: Seeded, fake: FakeGoogle
) -> None:
    async with Client(make_hub(writes=True)) as client:
        calls: list[tuple[str, dict[str, Any]]] = [
            ("gdrive_search_files", {"query": "plan"}),
            ("gdrive_list_folder", {"page_size": 3}),
            ("gdrive_get_file", {"file_id": files.design}),
            ("gdrive_read_file", {"file_id": files.notes}),
            ("gdrive_read_sheet", {"file_id": files.budget, "range": "Summary!A1:B2"}),
            ("gdrive_create_file", {"name": "a.md", "content": "# a"}),
            ("gdrive_update_file", {"file_id": files.design, "content": "# b"}),
            ("gdrive_add_comment", {"file_id": files.design, "text": "c"}),
            ("gdrive_share_file", {"file_id": files.design, "grantee": "anyone"}),
        ]
        for tool, arguments in calls:
            result = await client.call_tool(tool, arguments)
            assert not result.is_error, (tool, result.content)
    checked = set()
    for method_id, body in fake.responses:
        if method_id in METHODS:
            errors = [e.message for e in validator(method_id).iter_errors(body)]
            assert errors == [], (method_id, errors)
            checked.add(method_id)
    assert checked == set(METHODS)


def test_schema_check_can_fail() -> None:
    check = validator("drive.files.get")
    assert check.is_valid({"id": "x", "name": "n", "owners": [{"emailAddress": "a@b.c"}], "size": "12"})
    assert not check.is_valid({"id": "x", "owner": "a@b.c"})  # no such field
    assert not check.is_valid({"id": "x", "trashed": "no"})  # wrong type
    assert not validator("sheets.spreadsheets.values.get").is_valid({"values": "a,b"})


def test_query_escaping_against_the_fakes_parser() -> None:
    files = [{"name": "roadmap", "text": ""}, {"name": "foo' or name contains '", "text": ""}]
    hostile = "foo' or name contains '"
    unescaped = compile_query(f"name contains '{hostile}' and trashed = false")
    assert [f["name"] for f in files if unescaped(f)] == [f["name"] for f in files]  # widened: the attack works
    escaped = compile_query(search_query(hostile, names_only=True, file_type=None, folder_id=None))
    assert [f["name"] for f in files if escaped(f)] == [hostile]
    assert quote("a\\' b") == "'a\\\\\\' b'"
    assert compile_query(f"name contains {quote(chr(92))}")({"name": "x\\y"})
    with pytest.raises(QueryError):
        compile_query("name contains 'a' or")
    with pytest.raises(QueryError):
        compile_query("name contains 'abc")  # an unterminated literal is an error


def test_import_does_not_load_the_sdk() -> None:
    code = (
        "import sys, connectors.gdrive, connectors.gdrive.settings;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('googleapiclient', 'google_auth_httplib2', 'httplib2')"
        " or m.startswith('google.auth') or m.startswith('google.oauth2')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
