"""Issue 18 on Drive: no argument of any tool reaches a file outside the allowed folders, writes allowed.

The instance is limited to the "Projects" folder and the platform shared drive. Hostile values
(the traversal family of tests/support/hostile.py, aimed at readable files outside the folders)
go into every string argument of every tool of the live catalog; the fake's log (recorded before
routing) must show no request outside the scope, and no result may be labelled with a file that
is outside it or that no request of the call addressed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal
from hypothesis import given
from hypothesis import strategies as st
from mcp import Client

from connectors.gdrive.scope import PROOF_FIELDS
from mcp_hub.server import HubServer
from tests.connectors.gdrive.conftest import Seeded
from tests.connectors.gdrive.fake_state import SHEET, FakeGoogle
from tests.support import hostile

portal = hostile.portal  # the shared fixtures (this module provides `hub`)
session = hostile.session
slots_of = hostile.slots_of

DRIVE = "0ADRIVEplatform"
#: Every path the connector may send, and where its file id is.
ROUTES = [
    re.compile(p)
    for p in (
        r"^/token$",
        r"^/drive/v3/files$",
        r"^/upload/drive/v3/files$",
        r"^/drive/v3/files/(?P<id>[A-Za-z0-9_-]+)(?:/export|/comments|/permissions)?$",
        r"^/upload/drive/v3/files/(?P<id>[A-Za-z0-9_-]+)$",
        r"^/v4/spreadsheets/(?P<id>[A-Za-z0-9_-]+)(?:/values/[^/]+)?$",
    )
]


def under(fake: FakeGoogle, file_id: str, allowed: set[str]) -> bool:
    """Whether the fake's `file_id` is an allowed folder/drive or lies under one (the truth, not the hub's)."""
    seen: set[str] = set()
    todo = [file_id]
    while todo:
        current = todo.pop()
        if current in allowed:
            return True
        file = fake.files.get(current)
        if current in seen or file is None:
            continue
        seen.add(current)
        if file.get("driveId") in allowed:
            return True
        todo += list(file.get("parents") or [])
    return False


def request_key(wire: hostile.Wire) -> str | None:
    for route in ROUTES:
        found = route.match(wire.path)
        if found and "id" in found.groupdict():
            return found["id"]
    return None


def visibility(fake: FakeGoogle, file_id: str) -> str:
    """What the file's sharing makes it (shared-drive items: Drive returns no permissions, so private)."""
    file = fake.files[file_id]
    kinds = set() if "driveId" in file else {p.get("type") for p in file.get("permissions", [])}
    return "public" if "anyone" in kinds else "internal" if "domain" in kinds else "private"


def exposure(fake: FakeGoogle, files: Seeded, host: str, sheet: str = "") -> hostile.Exposure:
    allowed = {files.folder, DRIVE}

    def out_of_scope(wire: hostile.Wire) -> str | None:
        if wire.host != host:
            return f"another host {wire.host}"
        if not any(route.match(wire.path) for route in ROUTES):
            return "not an endpoint of the connector"
        key = request_key(wire)
        if key is None or wire.query.get("fields") == [PROOF_FIELDS]:
            return None  # a listing or a creation (results/parents checked), or a lookup of where a file lives
        return None if under(fake, key, allowed) else f"file {key} is outside the folders"

    def label_key(resource: str) -> str | None:
        rest = resource.removeprefix("gdrive:///")
        return None if rest == resource else rest

    return hostile.Exposure(
        wire=lambda: fake.wire,
        out_of_scope=out_of_scope,
        request_key=request_key,
        label_key=label_key,
        allowed=lambda key: under(fake, key, allowed),
        valid=VALID | {"file_id": files.in_folder, "folder_id": files.folder},
        valid_for={"gdrive_read_sheet": {"file_id": sheet, "range": "S"}} if sheet else {},
        others=[files.runbook, files.budget, files.hidden],
        visibility=lambda key: visibility(fake, key),
    )


VALID: dict[str, Any] = {
    "query": "road",
    "name": "notes.txt",
    "content": "x",
    "text": "x",
    "grantee": "bob@example.com",
}


@pytest.fixture
def sheet(fake: FakeGoogle, files: Seeded) -> str:
    """A spreadsheet under the folder, so that read_sheet's range is really attacked too."""
    return fake.add_file("Plan", SHEET, owner="alice@example.com", parents=[files.folder], sheets={"S": [["1"]]})


@pytest.fixture
def hub(make_hub: Callable[..., HubServer], files: Seeded) -> HubServer:
    return make_hub({"MCP_HUB_GDRIVE__FOLDERS": f"{files.folder},{DRIVE}"}, writes=True)


@pytest.fixture
def host(base_url: str) -> str:
    return base_url.removeprefix("http://")


def test_the_traversal_family_never_leaves_the_folders(
    portal: BlockingPortal, session: Client, fake: FakeGoogle, files: Seeded, host: str, sheet: str
) -> None:
    seen = exposure(fake, files, host, sheet)
    probed = portal.call(hostile.probe_all, session, seen, hostile.hostile_values([files.runbook, files.budget]))
    assert not seen.problems, "\n".join(seen.problems[:30])
    # the control call of every tool (valid arguments only) succeeded: the probes do reach the fake
    assert seen.controls and all(seen.controls.values()), seen.controls
    assert any(slot.tool == "gdrive_read_sheet" and slot.where == ("range",) for slot in probed)
    tools = {slot.tool for slot in probed}
    assert {"gdrive_read_file", "gdrive_read_sheet", "gdrive_update_file", "gdrive_share_file"} <= tools
    assert {"gdrive_create_file", "gdrive_add_comment", "gdrive_search_files", "gdrive_list_folder"} <= tools
    assert len(fake.wire) > 100  # the attack reached the network where the schema let it through
    outside = {files.runbook, files.budget}
    assert not [w for w in fake.wire if request_key(w) in outside and w.query.get("fields") != [PROOF_FIELDS]]


@pytest.fixture
def exposed(fake: FakeGoogle, files: Seeded, host: str, sheet: str) -> Callable[[], hostile.Exposure]:
    return lambda: exposure(fake, files, host, sheet)


@hostile.compositions(100)
@given(data=st.data())
def test_random_compositions_never_leave_the_folders(
    portal: BlockingPortal,
    session: Client,
    files: Seeded,
    exposed: Callable[[], hostile.Exposure],
    slots_of: list[hostile.Slot],
    data: st.DataObject,
) -> None:
    values = hostile.hostile_text([files.runbook, files.hidden])
    hostile.probe_drawn(portal, session, exposed(), slots_of, data, values)


ATTACKS = [
    ("gdrive_read_file", {"file_id": "{runbook}"}),
    ("gdrive_read_file", {"file_id": "{in_folder}/../{runbook}"}),
    ("gdrive_read_file", {"file_id": "%2e%2e%2f{runbook}"}),
    ("gdrive_get_file", {"file_id": "{in_folder}\\..\\{runbook}"}),
    ("gdrive_read_sheet", {"file_id": "{budget}"}),
    ("gdrive_read_sheet", {"file_id": "{budget}", "range": "../../{runbook}"}),
    ("gdrive_read_sheet", {"file_id": "{budget}", "range": "S?alt=media"}),
    ("gdrive_update_file", {"file_id": "{design}", "content": "pwned"}),
    ("gdrive_update_file", {"file_id": "{in_folder}?uploadType=media#", "content": "pwned"}),
    ("gdrive_add_comment", {"file_id": "{runbook}", "text": "x"}),
    ("gdrive_share_file", {"file_id": "{notes}", "grantee": "anyone"}),
    ("gdrive_create_file", {"name": "x.txt", "content": "x", "folder_id": "{runbook}"}),
    ("gdrive_create_file", {"name": "x.txt", "content": "x", "folder_id": "root"}),
    ("gdrive_list_folder", {"folder_id": "{in_folder}/../.."}),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("tool", "arguments"), ATTACKS, ids=[f"{t}-{i}" for i, (t, _) in enumerate(ATTACKS)])
async def test_the_attacks_are_refused_before_anything_is_sent(
    hub: HubServer, fake: FakeGoogle, files: Seeded, host: str, tool: str, arguments: dict[str, Any]
) -> None:
    filled = {k: v.format(**vars(files)) for k, v in arguments.items()}
    async with Client(hub) as client:
        result = await client.call_tool(tool, filled)
    assert result.is_error
    assert (result.meta or {}).get("mcp_hub/error") in ("invalid_input", "denied")
    seen = exposure(fake, files, host)
    assert not [w for w in fake.wire if seen.out_of_scope(w)], fake.wire
