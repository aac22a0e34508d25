"""Write tools: hidden by default, gated by allow_writes, uploads through the discovery-built client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from mcp_hub.server import HubServer
from tests.connectors.gdrive.conftest import ALICE, Seeded
from tests.connectors.gdrive.fake_state import DOC, FakeGoogle

pytestmark = pytest.mark.anyio
Call = Callable[..., Any]
WRITE_TOOLS = {"gdrive_create_file", "gdrive_update_file", "gdrive_add_comment"}


async def test_write_tools_hidden_until_allowed(make_hub: Callable[..., HubServer]) -> None:
    async with Client(make_hub()) as client:
        default = {t.name for t in (await client.list_tools()).tools}
        with pytest.raises(MCPError) as refused:  # hidden: an unknown tool, JSON-RPC -32602
            await client.call_tool("gdrive_create_file", {"name": "a.txt", "content": "x"})
    async with Client(make_hub({"MCP_HUB_ALLOW_WRITES": "1"})) as client:
        writes = {t.name: t for t in (await client.list_tools()).tools}
    async with Client(make_hub(writes=True)) as client:
        everything = {t.name: t for t in (await client.list_tools()).tools}
    assert default == {
        "gdrive_search_files",
        "gdrive_list_folder",
        "gdrive_get_file",
        "gdrive_read_file",
        "gdrive_read_sheet",
    }
    assert refused.value.code == INVALID_PARAMS
    assert set(writes) == default | WRITE_TOOLS  # sharing also needs destructive tools allowed
    assert writes["gdrive_create_file"].annotations.read_only_hint is False
    share = everything["gdrive_share_file"].annotations
    assert share.destructive_hint is True and share.read_only_hint is False


async def test_writes_need_the_instance_to_allow_them(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    env = {"MCP_HUB_ALLOW_WRITES": "1"}  # the hub allows writes, the gdrive instance does not
    result = await call("gdrive_add_comment", {"file_id": files.design, "text": "hi"}, env=env)
    assert result.is_error and result.meta["mcp_hub/error"] == "denied" and "allow_writes" in result.content[0].text
    assert fake.comments == {} and fake.requests == []  # refused before anything was sent


async def test_create_text_file_and_google_doc(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    text = await call(
        "gdrive_create_file", {"name": "notes.md", "content": "# Hi\n", "folder_id": files.folder}, writes=True
    )
    assert not text.is_error, text.content
    created = fake.files[text.structured_content["id"]]
    assert created["mimeType"] == "text/markdown" and created["_content"] == b"# Hi\n"
    assert created["parents"] == [files.folder] and created["owners"][0]["emailAddress"] == ALICE
    assert text.structured_content["link"].endswith("/view")
    upload = fake.api_requests("drive.files.create")[-1]
    assert upload["path"] == "/upload/drive/v3/files" and upload["params"]["uploadType"] == "multipart"
    doc = await call("gdrive_create_file", {"name": "Plan", "content": "# Plan\n", "google_doc": True}, writes=True)
    assert fake.files[doc.structured_content["id"]]["mimeType"] == DOC
    read = await call("gdrive_read_file", {"file_id": doc.structured_content["id"]})
    assert read.structured_content["text"] == "# Plan\n"


async def test_update_file_content(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    doc = await call("gdrive_update_file", {"file_id": files.design, "content": "# New design\n"}, writes=True)
    assert not doc.is_error and fake.files[files.design]["_text"] == "# New design\n"
    text = await call("gdrive_update_file", {"file_id": files.notes, "content": "replaced"}, writes=True)
    assert not text.is_error and fake.files[files.notes]["_content"] == b"replaced"
    assert fake.api_requests("drive.files.update")[-1]["path"].startswith("/upload/drive/v3/files/")
    binary = await call("gdrive_update_file", {"file_id": files.pdf, "content": "x"}, writes=True)
    assert binary.is_error and "only text files and Google Docs" in binary.content[0].text
    denied = await call("gdrive_update_file", {"file_id": files.readonly, "content": "x"}, writes=True)
    assert denied.is_error and denied.meta["mcp_hub/error"] == "auth"
    assert f"no permission to edit file {files.readonly}: share it with {ALICE} (editor access)" in (
        denied.content[0].text
    )
    assert fake.files[files.readonly]["_text"] == "ro\n"


async def test_comment(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    result = await call("gdrive_add_comment", {"file_id": files.readonly, "text": "Looks good"}, writes=True)
    assert result.is_error  # a reader may not comment
    done = await call("gdrive_add_comment", {"file_id": files.design, "text": "Looks good"}, writes=True)
    assert done.structured_content["file_id"] == files.design
    assert [c["content"] for c in fake.comments[files.design]] == ["Looks good"]
    assert fake.api_requests("drive.comments.create")[-1]["params"]["fields"] == "id"


async def test_share_file(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    anyone = await call("gdrive_share_file", {"file_id": files.runbook, "grantee": "anyone"}, writes=True)
    assert anyone.structured_content == {
        "permission_id": anyone.structured_content["permission_id"],
        "file_id": files.runbook,
        "type": "anyone",
        "role": "reader",
    }
    after = await call("gdrive_get_file", {"file_id": files.runbook})
    assert after.structured_content["visibility"] == "public"
    user = await call(
        "gdrive_share_file", {"file_id": files.runbook, "grantee": "bob@example.com", "role": "writer"}, writes=True
    )
    assert user.structured_content["type"] == "user"
    assert fake.api_requests("drive.permissions.create")[-1]["params"]["sendNotificationEmail"] == "false"
    domain = await call("gdrive_share_file", {"file_id": files.runbook, "grantee": "domain:example.com"}, writes=True)
    assert domain.structured_content["type"] == "domain"
    bad = await call("gdrive_share_file", {"file_id": files.runbook, "grantee": "everyone please"}, writes=True)
    assert bad.is_error and "grantee must be" in bad.content[0].text
