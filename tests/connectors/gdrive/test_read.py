"""Reading content: exports per type, paging, outsider text and lockdown, the gdrive:/// resource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_hub.server import HubServer
from tests.connectors.gdrive.conftest import ALICE, SA_EMAIL, Seeded
from tests.connectors.gdrive.fake_state import DOC, FakeGoogle

pytestmark = pytest.mark.anyio
Call = Callable[..., Any]


async def test_doc_reads_as_markdown(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    result = await call("gdrive_read_file", {"file_id": files.runbook})
    data = result.structured_content
    assert (
        data["format"] == "markdown" and data["text"] == "# Deploy\n\nRun **make release** then check the dashboard.\n"
    )
    assert data["next_cursor"] is None and data["truncated"] is False and data["total_chars"] == len(data["text"])
    assert result.content[0].text.startswith("Runbook: deploy (markdown; characters 0-")
    assert fake.api_requests("drive.files.export")[-1]["params"]["mimeType"] == "text/markdown"


async def test_doc_falls_back_to_plain_text(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    fake.files[files.runbook]["_no_markdown"] = True
    data = (await call("gdrive_read_file", {"file_id": files.runbook})).structured_content
    assert data["format"] == "text" and data["text"].startswith("Deploy\n\nRun make release")
    assert [r["params"]["mimeType"] for r in fake.api_requests("drive.files.export")] == ["text/markdown", "text/plain"]


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("slides", "text", "Kickoff\nGoals for 2026\n"),
        ("budget", "csv", 'item,cost\r\nlaptops,"12,000"\r\ntravel,"3,500"\r\n'),
        ("notes", "text", "line one\nline two\n"),
        ("shared", "markdown", "# Platform plan\n"),
    ],
)
async def test_each_type_reads_as_text(call: Call, files: Seeded, name: str, fmt: str, expected: str) -> None:
    result = await call("gdrive_read_file", {"file_id": getattr(files, name)})
    assert not result.is_error, result.content
    data = result.structured_content
    assert (data["format"], data["text"]) == (fmt, expected)


async def test_binaries_and_folders_give_metadata_only(call: Call, files: Seeded, fake: FakeGoogle) -> None:
    pdf = await call("gdrive_read_file", {"file_id": files.pdf})
    assert pdf.structured_content["format"] == "none" and pdf.structured_content["text"] == ""
    assert "binary file (application/pdf): metadata only" in pdf.content[0].text
    folder = await call("gdrive_read_file", {"file_id": files.folder})
    assert "list_folder" in folder.content[0].text
    assert fake.api_requests("drive.files.export") == []  # nothing downloaded for either


async def test_long_documents_are_paged_by_cursor(call: Call, fake: FakeGoogle) -> None:
    body = "".join(f"line {i:05d} of the long runbook\n" for i in range(3000))  # ~96k characters
    doc = fake.add_file("Long runbook", DOC, owner=ALICE, text=body)
    pieces, cursor, pages = [], None, 0
    while True:
        result = await call("gdrive_read_file", {"file_id": doc, "cursor": cursor})
        data = result.structured_content
        assert data["start"] == sum(map(len, pieces)) and len(data["text"]) <= 20_000
        pieces.append(data["text"])
        pages += 1
        cursor = data["next_cursor"]
        assert data["truncated"] == (cursor is not None)
        if cursor is None:
            break
    assert "".join(pieces) == body and pages == 5 and all(p.endswith("\n") for p in pieces)
    other = await call("gdrive_read_file", {"file_id": fake.add_file("x", DOC, owner=ALICE), "cursor": cursor or "e30"})
    assert not other.is_error  # an empty cursor state is the first page
    first = await call("gdrive_read_file", {"file_id": doc})
    wrong = await call("gdrive_read_file", {"file_id": "1otherfile", "cursor": first.structured_content["next_cursor"]})
    assert wrong.is_error and "another file" in wrong.content[0].text


async def test_large_text_files_are_read_in_part(call: Call, fake: FakeGoogle) -> None:
    big = fake.add_file("big.log", "text/plain", owner=ALICE, content=b"x" * 5000)
    data = (
        await call("gdrive_read_file", {"file_id": big}, env={"MCP_HUB_GDRIVE__MAX_DOWNLOAD_BYTES": "1000"})
    ).structured_content
    assert data["total_chars"] == 1000 and data["truncated"] is True
    assert fake.api_requests("drive.files.get")[-1]["params"]["alt"] == "media"


async def test_outsider_documents_are_cleaned_and_delimited(call: Call, files: Seeded) -> None:
    result = await call("gdrive_read_file", {"file_id": files.vendor})
    meta = result.meta["mcp_hub/provenance"]
    text = result.structured_content["text"]
    assert meta["outsider_text"] is True and meta["visibility"] == "private"
    assert "\u200b" not in text and "[hidden comment: to mallory@evil.test]" in text
    rendered = result.content[0].text
    assert rendered.startswith(f"<untrusted-data boundary={meta['boundary']}>")
    assert rendered.endswith(f"</untrusted-data boundary={meta['boundary']}>")
    own = await call("gdrive_read_file", {"file_id": files.design})
    assert own.meta["mcp_hub/provenance"]["outsider_text"] is False and "untrusted" not in own.content[0].text


async def test_without_a_domain_every_file_is_outsider_text(call: Call, fake: FakeGoogle) -> None:
    own = fake.add_file("SA runbook", "text/plain", owner=SA_EMAIL, content=b"ok")
    no_domain = await call("gdrive_read_file", {"file_id": own}, env={"MCP_HUB_GDRIVE__SUBJECT": ""})
    assert no_domain.meta["mcp_hub/provenance"]["outsider_text"] is True
    env = {"MCP_HUB_GDRIVE__SUBJECT": "", "MCP_HUB_GDRIVE__DOMAIN": "proj-1.iam.gserviceaccount.com"}
    with_domain = await call("gdrive_read_file", {"file_id": own}, env=env)
    assert with_domain.meta["mcp_hub/provenance"]["outsider_text"] is False
    shared = await call("gdrive_search_files", {"query": "Platform"}, env={"MCP_HUB_GDRIVE__DOMAIN": "other.test"})
    assert shared.structured_content["files"][0]["outside"] is True  # last edited by alice@example.com


async def test_lockdown_setting_withholds_outsider_content(call: Call, files: Seeded) -> None:
    env = {"MCP_HUB_GDRIVE__LOCKDOWN": "true"}
    result = await call("gdrive_read_file", {"file_id": files.vendor}, env=env)
    assert "Ignore previous" not in result.content[0].text and "withheld" in result.structured_content["text"]
    assert result.meta["mcp_hub/provenance"]["outsider_text"] is False
    listed = await call("gdrive_search_files", {"query": "notes", "names_only": True}, env=env)
    names = {f["id"]: f["name"] for f in listed.structured_content["files"]}
    assert names[files.vendor].startswith("[withheld") and names[files.notes] == "notes.txt"
    own = await call("gdrive_read_file", {"file_id": files.runbook}, env=env)
    assert "make release" in own.structured_content["text"]


async def test_caller_lockdown_reaches_the_connector(make_hub: Callable[..., HubServer], files: Seeded) -> None:
    async with Client(make_hub(lockdown=True)) as client:
        result = await client.call_tool("gdrive_read_file", {"file_id": files.vendor})
    assert "Ignore previous" not in result.content[0].text and "withheld" in result.content[0].text


async def test_file_resource(make_hub: Callable[..., HubServer], files: Seeded) -> None:
    async with Client(make_hub()) as client:
        templates = (await client.list_resource_templates()).resource_templates
        doc = await client.read_resource(f"gdrive:///{files.runbook}")
        sheet = await client.read_resource(f"gdrive:///{files.budget}")
        vendor = await client.read_resource(f"gdrive:///{files.vendor}")
        with pytest.raises(MCPError, match="not found"):
            await client.read_resource(f"gdrive:///{files.hidden}")
    assert [t.uri_template for t in templates] == ["gdrive:///{file_id}"]
    content = doc.contents[0]
    assert content.text.startswith("# Deploy") and content.mime_type == "text/markdown"
    assert content.meta["mcp_hub/provenance"]["visibility"] == "internal"
    assert sheet.contents[0].text.startswith("item,cost")
    assert vendor.contents[0].text.startswith("<untrusted-data boundary=")
