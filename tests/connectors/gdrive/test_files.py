"""Search, folder listing, metadata and reading files through the hub."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.connectors.gdrive.conftest import ALICE, Seeded
from tests.connectors.gdrive.fake_state import FakeGoogle

pytestmark = pytest.mark.anyio
Call = Callable[..., Any]


def provenance(result: Any) -> dict[str, Any]:
    meta: dict[str, Any] = result.meta["mcp_hub/provenance"]
    return meta


async def test_search_returns_ids_owners_and_types_across_shared_drives(
    call: Call, files: Seeded, fake: FakeGoogle
) -> None:
    result = await call("gdrive_search_files", {"query": "plan"})
    assert not result.is_error, result.content
    found = {f["id"]: f for f in result.structured_content["files"]}
    assert files.shared in found and files.budget in found  # shared-drive doc; "Q1 plan" sheet tab text
    assert found[files.shared] == {
        "id": files.shared,
        "name": "Platform plan",
        "type": "doc",
        "modified": found[files.shared]["modified"],
        "owner": None,
        "outside": False,
    }
    assert found[files.budget]["type"] == "sheet" and found[files.budget]["owner"] == ALICE
    sent = fake.api_requests("drive.files.list")[-1]["params"]
    assert sent["corpora"] == "allDrives" and sent["includeItemsFromAllDrives"] == "true"
    assert sent["supportsAllDrives"] == "true"
    assert sent["q"] == "(name contains 'plan' or fullText contains 'plan') and trashed = false"
    assert result.structured_content["truncated"] is False and result.structured_content["next_cursor"] is None


async def test_search_never_shows_files_not_shared_with_the_account(call: Call, files: Seeded) -> None:
    result = await call("gdrive_search_files", {"query": "salaries"})
    assert result.structured_content["files"] == []


async def test_search_text_cannot_widen_the_query(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    result = await call("gdrive_search_files", {"query": "foo' or name contains '"})
    assert [f["id"] for f in result.structured_content["files"]] == [files.tricky]
    assert fake.api_requests("drive.files.list")[-1]["params"]["q"] == (
        "(name contains 'foo\\' or name contains \\'' or fullText contains 'foo\\' or name contains \\'') "
        "and trashed = false"
    )
    backslash = await call("gdrive_search_files", {"query": "a\\' or trashed = false or name contains '"})
    assert not backslash.is_error and backslash.structured_content["files"] == []


async def test_search_filters_by_name_type_and_folder(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    names = await call("gdrive_search_files", {"query": "plan", "names_only": True, "type": "doc"})
    assert [f["id"] for f in names.structured_content["files"]] == [files.shared]
    in_folder = await call("gdrive_search_files", {"query": "road", "folder_id": files.folder})
    assert [f["id"] for f in in_folder.structured_content["files"]] == [files.in_folder]
    assert f"'{files.folder}' in parents" in fake.api_requests("drive.files.list")[-1]["params"]["q"]
    sent = len(fake.wire)
    bad = await call("gdrive_search_files", {"query": "x", "folder_id": "abc' or 'x"})
    assert bad.is_error and bad.meta["mcp_hub/error"] == "invalid_input" and "folder_id" in bad.content[0].text
    assert len(fake.wire) == sent  # refused by the input schema: nothing sent
    bad_type = await call("gdrive_search_files", {"query": "x", "type": "spreadsheet"})
    assert bad_type.is_error


async def test_folder_listing_is_paged_with_cursors(call: Call, files: Seeded) -> None:
    first = await call("gdrive_list_folder", {"page_size": 4})
    page = first.structured_content
    assert page["files"][0]["id"] == files.folder and page["files"][0]["type"] == "folder"  # folders first
    assert page["truncated"] and page["next_cursor"]
    seen = [f["id"] for f in page["files"]]
    cursor = page["next_cursor"]
    while cursor:
        more = (await call("gdrive_list_folder", {"page_size": 4, "cursor": cursor})).structured_content
        seen += [f["id"] for f in more["files"]]
        cursor = more["next_cursor"]
    assert len(seen) == len(set(seen)) and files.runbook in seen and files.in_folder not in seen
    assert files.hidden not in seen and files.shared not in seen
    mixed = await call("gdrive_list_folder", {"folder_id": files.folder, "cursor": page["next_cursor"]})
    assert mixed.is_error and "another query" in mixed.content[0].text
    garbage = await call("gdrive_list_folder", {"cursor": "not-a-cursor!"})
    assert garbage.is_error and "invalid cursor" in garbage.content[0].text
    sub = await call("gdrive_list_folder", {"folder_id": files.folder})
    assert [f["name"] for f in sub.structured_content["files"]] == ["Roadmap"]


async def test_file_metadata_labels_visibility_and_outsiders(call: Call, files: Seeded) -> None:
    runbook = await call("gdrive_get_file", {"file_id": files.runbook})
    data = runbook.structured_content
    assert data["name"] == "Runbook: deploy" and data["type"] == "doc" and data["owners"] == [ALICE]
    assert data["link"].endswith(f"/file/d/{files.runbook}/view") and data["visibility"] == "internal"
    assert provenance(runbook) | {"boundary": None} == {
        "connector": "gdrive",
        "instance": "default",
        "resource": f"gdrive:///{files.runbook}",
        "visibility": "internal",
        "outsider_text": False,
        "boundary": None,
    }
    public = await call("gdrive_get_file", {"file_id": files.public})
    assert public.structured_content["visibility"] == "public" and provenance(public)["outsider_text"] is True
    design = await call("gdrive_get_file", {"file_id": files.design})
    assert design.structured_content["visibility"] == "private" and design.structured_content["outside"] is False
    assert design.structured_content["description"] == "The search design"
    shared = await call("gdrive_get_file", {"file_id": files.shared})
    assert shared.structured_content["drive_id"] == "0ADRIVEplatform" and shared.structured_content["owners"] == []
    vendor = await call("gdrive_get_file", {"file_id": files.vendor})
    assert vendor.structured_content["outside"] is True and provenance(vendor)["outsider_text"] is True


async def test_missing_file_is_explained(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    result = await call("gdrive_get_file", {"file_id": files.hidden})
    text = result.content[0].text
    assert result.is_error and result.meta["mcp_hub/error"] == "not_found"
    assert f"file {files.hidden} was not found" in text and f"share it with {ALICE}" in text
    sent = len(fake.wire)
    bad = await call("gdrive_get_file", {"file_id": "../etc/passwd"})
    assert bad.is_error and bad.meta["mcp_hub/error"] == "invalid_input" and "file_id" in bad.content[0].text
    assert len(fake.wire) == sent  # refused by the input schema: nothing sent
