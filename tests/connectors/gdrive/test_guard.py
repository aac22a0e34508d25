"""Issue 18 on Drive: the request guard at each thread's AuthorizedHttp, and the folders allow-list.

A file id says nothing about where the file lives: with `folders` set, nothing is sent about a file
until a metadata lookup (`fields=id,parents,driveId`) walked it up to an allowed folder or shared
drive. The fake logs every request before routing, so these tests see what was *not* sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from connectors.gdrive import GdriveConnector, GdriveSettings
from connectors.gdrive.proof import MAX_DEPTH, FolderProof
from connectors.gdrive.scope import PROOF_FIELDS
from mcp_hub.connector import ConnectorContext
from mcp_hub.errors import PolicyDenied
from mcp_hub.redaction import Redactor
from mcp_hub.server import HubServer
from tests.connectors.gdrive.conftest import ALICE, Seeded
from tests.connectors.gdrive.fake_state import FakeGoogle
from tests.support.hostile import Wire

pytestmark = pytest.mark.anyio


def folders(files: Seeded) -> str:
    return f"{files.folder},0ADRIVEplatform"


def is_probe(wire: Wire) -> bool:
    return wire.query.get("fields") == [PROOF_FIELDS]


def touching(fake: FakeGoogle, file_id: str) -> list[Wire]:
    """The requests that named `file_id` in their path, lookups of its parents left out."""
    return [w for w in fake.wire if file_id in w.path and not is_probe(w)]


async def test_outside_the_folders_is_refused_audited_and_never_sent(
    make_hub: Callable[..., HubServer], files: Seeded, fake: FakeGoogle, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    hub = make_hub({"MCP_HUB_GDRIVE__FOLDERS": folders(files), "MCP_HUB_HUB__AUDIT_LOG": str(audit)}, writes=True)
    async with Client(hub) as client:
        inside = await client.call_tool("gdrive_read_file", {"file_id": files.in_folder})
        drive = await client.call_tool("gdrive_get_file", {"file_id": files.shared})
        refused = [
            await client.call_tool(tool, arguments)
            for tool, arguments in [
                ("gdrive_get_file", {"file_id": files.runbook}),
                ("gdrive_read_file", {"file_id": files.public}),
                ("gdrive_read_sheet", {"file_id": files.budget, "range": "Summary"}),
                ("gdrive_update_file", {"file_id": files.design, "content": "pwned"}),
                ("gdrive_add_comment", {"file_id": files.runbook, "text": "x"}),
                ("gdrive_share_file", {"file_id": files.notes, "grantee": "anyone"}),
                ("gdrive_create_file", {"name": "leak.txt", "content": "x"}),
                ("gdrive_create_file", {"name": "leak.txt", "content": "x", "folder_id": files.runbook}),
            ]
        ]
        created = await client.call_tool(
            "gdrive_create_file", {"name": "ok.txt", "content": "x", "folder_id": files.folder}
        )
    assert not inside.is_error and "# Roadmap" in inside.content[0].text
    assert inside.meta["mcp_hub/provenance"]["resource"] == f"gdrive:///{files.in_folder}"
    assert not drive.is_error and drive.structured_content["drive_id"] == "0ADRIVEplatform"
    assert not created.is_error
    for result in refused:
        assert result.is_error and result.meta["mcp_hub/error"] == "denied", result.content
        assert "folders" in result.content[0].text
    for outside in (files.runbook, files.public, files.budget, files.design, files.notes):
        assert touching(fake, outside) == []  # only the parents lookup went out, never a read or a write
    assert fake.files[files.design]["_text"] != "pwned" and fake.comments == {}
    assert [f["name"] for f in fake.files.values()].count("leak.txt") == 0
    outcomes = [json.loads(line)["outcome"] for line in audit.read_text().splitlines()]
    assert outcomes.count("denied") == len(refused) and outcomes.count("ok") == 3


async def test_listings_keep_only_what_is_under_the_folders(
    call: Callable[..., Any], files: Seeded, fake: FakeGoogle
) -> None:
    env = {"MCP_HUB_GDRIVE__FOLDERS": folders(files)}
    found = await call("gdrive_search_files", {"query": "plan"}, env=env)
    assert [f["id"] for f in found.structured_content["files"]] == [files.shared]
    everything = await call("gdrive_search_files", {"query": "e"}, env=env)
    ids = {f["id"] for f in everything.structured_content["files"]}
    assert ids and ids <= {files.folder, files.in_folder, files.shared}
    root = await call("gdrive_list_folder", {"folder_id": "root"}, env=env)
    assert [f["id"] for f in root.structured_content["files"]] == [files.folder]  # the folder itself, nothing else
    unscoped = await call("gdrive_search_files", {"query": "e"})  # no folders: the whole account, as before
    assert files.runbook in {f["id"] for f in unscoped.structured_content["files"]}


async def test_a_moved_file_is_checked_again_after_the_ttl(files: Seeded, fake: FakeGoogle) -> None:
    lookups: list[str] = []

    def fetch(file_id: str) -> tuple[list[str], str | None] | None:
        lookups.append(file_id)
        file = fake.files.get(file_id)
        return (list(file["parents"]), file.get("driveId")) if file else None

    proof = FolderProof([files.folder], ttl_s=0.05, capacity=2)
    assert proof.admits(files.in_folder, fetch) and not proof.admits(files.runbook, fetch)
    assert not proof.admits("1unknown", fetch)
    calls = len(lookups)
    assert proof.admits(files.in_folder, fetch) is True and len(lookups) == calls + 1  # evicted (capacity 2)
    fake.files[files.in_folder]["parents"] = ["0root"]
    assert proof.admits(files.in_folder, fetch)  # cached
    time.sleep(0.06)
    assert not proof.admits(files.in_folder, fetch)  # looked up again: moved out


def test_walks_are_bounded_and_cycles_refused() -> None:
    chain = {f"f{i}": [f"f{i + 1}"] for i in range(100)}
    chain["loop1"], chain["loop2"] = ["loop2"], ["loop1"]

    def fetch(file_id: str) -> tuple[list[str], str | None] | None:
        return (chain[file_id], None) if file_id in chain else None

    proof = FolderProof(["f99"])
    assert proof.admits("f90", fetch)
    assert not proof.admits("f0", fetch) and proof.lookups <= 10 + MAX_DEPTH + 1  # too deep: not proven
    assert not proof.admits("loop1", fetch)
    assert FolderProof([]).admits("anything", fetch)  # no allow-list: the account is the scope


async def test_the_guard_alone_refuses_what_the_tools_would_never_send(
    base_url: str, key_file: Path, files: Seeded, fake: FakeGoogle
) -> None:
    """Past the tools' checks (a bug in one, a new tool that forgets them), the transport still refuses."""
    settings = GdriveSettings(
        credentials_path=str(key_file), base_url=base_url, subject=ALICE, folders=[files.folder, "0ADRIVEplatform"]
    )
    connector = GdriveConnector("default", settings, ConnectorContext(Redactor()))
    client = await connector.gateway.client()
    drive = f"{base_url}/drive/v3/files"
    hostile = [
        f"{drive}/{files.in_folder}/../{files.runbook}",
        f"{drive}/{files.in_folder}/%2e%2e/{files.runbook}?alt=media",
        f"{drive}/{files.in_folder}%2f..%2f{files.runbook}",
        f"{drive}/{files.in_folder}%5c..%5c{files.runbook}",
        f"{drive}/%252e%252e/about",
        f"{drive}/{files.runbook}?alt=media",  # a valid id outside the folders
        f"{drive}/{files.runbook}/export?mimeType=text/plain",
        f"{drive}/{files.in_folder}?fields=*&acknowledgeAbuse=true",  # a parameter the tools never send
        f"{drive}?corpora=domain",
        f"{base_url}/drive/v3/about",
        f"{base_url}/drive/v2/files/{files.in_folder}",
        f"{base_url}/batch/drive/v3",
        "https://evil.example/drive/v3/files",
    ]

    def send_all() -> int:
        http = client.transport.get()
        refused = 0
        for url in hostile:
            try:
                http.request(url, "GET")
            except PolicyDenied:
                refused += 1
        try:
            http.request(f"{drive}/{files.in_folder}/comments?fields=id", "DELETE")
        except PolicyDenied:
            refused += 1
        return refused

    assert await anyio.to_thread.run_sync(send_all) == len(hostile) + 1
    assert all(is_probe(w) or w.path == "/token" for w in fake.wire), fake.wire
    assert touching(fake, files.runbook) == []


async def test_batch_requests_through_the_sdk_are_refused(
    base_url: str, key_file: Path, files: Seeded, fake: FakeGoogle
) -> None:
    from googleapiclient.http import BatchHttpRequest  # type: ignore[import-untyped]

    settings = GdriveSettings(credentials_path=str(key_file), base_url=base_url, subject=ALICE)
    connector = GdriveConnector("default", settings, ConnectorContext(Redactor()))
    client = await connector.gateway.client()

    def batch() -> None:
        request = BatchHttpRequest(batch_uri=f"{base_url}/batch/drive/v3")
        request.add(client.files.get(fileId=files.runbook))
        request.execute(http=client.transport.get())

    with pytest.raises(PolicyDenied):
        await anyio.to_thread.run_sync(batch)
    assert not [w for w in fake.wire if w.path.startswith("/batch")]


async def test_redirects_are_not_followed(
    call: Callable[..., Any], files: Seeded, fake: FakeGoogle, base_url: str
) -> None:
    fake.redirect = f"{base_url}/drive/v3/files/{files.hidden}?alt=media"
    result = await call("gdrive_read_file", {"file_id": files.runbook}, env={"MCP_HUB_GDRIVE__RETRY_ATTEMPTS": "1"})
    fake.redirect = None
    assert result.is_error
    assert touching(fake, files.hidden) == []
